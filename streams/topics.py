"""Faust views of the contract topics in `hcp.topics`: same names, same partition counts, raw bytes.

Agents validate values with `hcp.codec.decode_record` themselves (pydantic at the edge), so faust only moves
bytes. Topics are created by `hcp.broker.ensure_topics`; the app never declares them.
"""

from __future__ import annotations

import faust

from hcp.topics import TOPICS


def contract_topic(app: faust.App, name: str) -> faust.TopicT:
    """One contract topic, with the partition count the contract gives it."""
    spec = TOPICS[name]
    return app.topic(name, partitions=spec.partitions, key_serializer="raw", value_serializer="raw")


def contract_topics(app: faust.App, names: tuple[str, ...]) -> faust.TopicT:
    """One channel over several contract topics (each keeps its own partitions on the broker)."""
    unknown = [name for name in names if name not in TOPICS]
    if unknown:
        raise KeyError(f"not contract topics: {', '.join(unknown)}")
    return app.topic(*names, key_serializer="raw", value_serializer="raw")
