import json

from hcp.contracts import render_topics_markdown, topic_json_schemas
from hcp.settings import REPO_ROOT
from hcp.topics import RECORD_TOPICS, TOPICS


def test_committed_json_schemas_are_current():
    for topic, schema in topic_json_schemas().items():
        committed = json.loads((REPO_ROOT / "schemas" / f"{topic}.json").read_text())
        assert committed == json.loads(json.dumps(schema)), f"schemas/{topic}.json is stale: run hcp schemas export"


def test_committed_topic_reference_is_current():
    assert (REPO_ROOT / "docs" / "topics.md").read_text() == render_topics_markdown(), (
        "docs/topics.md is stale: run hcp schemas export"
    )


def test_topic_reference_documents_every_topic_and_field():
    text = render_topics_markdown()
    for name in TOPICS:
        assert f"## `{name}`" in text
    assert "`readings[].power_w`" in text
    assert "hcp.original.offset" in text


def test_every_record_topic_has_a_schema():
    assert set(topic_json_schemas()) == set(RECORD_TOPICS)
