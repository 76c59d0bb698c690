"""Published forms of the topic contracts: JSON Schema files and the `docs/topics.md` reference.

Both are generated from the record classes, and a unit test checks the committed copies are current
(regenerate with `hcp schemas export`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from hcp.records import DeadLetter
from hcp.records.deadletters import (
    HEADER_ERROR_CLASS,
    HEADER_ERROR_MESSAGE,
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_TOPIC,
)
from hcp.topics import TOPICS

SCHEMA_BASE_URI = "https://hcp.invalid/schemas/"


def topic_json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of every record topic's value, by topic name."""
    schemas = {}
    for spec in TOPICS.values():
        if spec.record is None:
            continue
        schema = spec.record.model_json_schema(mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"{SCHEMA_BASE_URI}{spec.name}.json"
        schemas[spec.name] = schema
    return schemas


def write_json_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for topic, schema in topic_json_schemas().items():
        path = out_dir / f"{topic}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def _field_rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        annotation = getattr(field.annotation, "__name__", None) or str(field.annotation)
        annotation = annotation.replace("typing.", "").replace("hcp.records.", "").replace("|", "\\|")
        required = "yes" if field.is_required() else "no"
        rows.append(f"| `{prefix}{name}` | {annotation} | {required} | {field.description or ''} |")
        nested = _nested_model(field.annotation)
        if nested is not None:
            rows.extend(_field_rows(nested, prefix=f"{prefix}{name}[]."))
    return rows


def _nested_model(annotation: object) -> type[BaseModel] | None:
    for arg in getattr(annotation, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def render_topics_markdown() -> str:
    """The topic reference: key, partitions, grain and every field with its unit."""
    lines = [
        "# Topics",
        "",
        "Generated from the record classes in `hcp/records/` by `hcp schemas export`; do not edit by hand.",
        "Every value is UTF-8 JSON. JSON Schema files for producers outside the project are in `schemas/`.",
        "Times are RFC 3339 with a timezone. A message that fails validation goes to `deadletters`.",
        "",
        "| topic | partitions | key | record |",
        "| --- | --- | --- | --- |",
    ]
    for spec in TOPICS.values():
        lines.append(
            f"| `{spec.name}` | {spec.partitions} | {spec.key.replace('|', '/')} | "
            f"{spec.record.__name__ if spec.record else '-'} |"
        )
    for spec in TOPICS.values():
        lines += ["", f"## `{spec.name}`", "", spec.description + "."]
        if spec.record is None:
            lines += ["", (DeadLetter.__doc__ or "").strip(), "", "| header | meaning |", "| --- | --- |"]
            for header, meaning in (
                (HEADER_TOPIC, "topic the message was read from"),
                (HEADER_PARTITION, "its partition"),
                (HEADER_OFFSET, "its offset"),
                (HEADER_ERROR_CLASS, "class of the error that rejected it"),
                (HEADER_ERROR_MESSAGE, "what was wrong"),
            ):
                lines.append(f"| `{header}` | {meaning} |")
            continue
        doc = " ".join((spec.record.__doc__ or "").split())
        lines += ["", doc, "", "| field | type | required | meaning and unit |", "| --- | --- | --- | --- |"]
        lines += _field_rows(spec.record)
    return "\n".join(lines) + "\n"
