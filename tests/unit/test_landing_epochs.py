"""Landing across broker epochs: a restarted broker's offsets land after the old ones, never over them."""

from datetime import UTC, datetime

import polars as pl

from hcp.landing import LandedMessage, LandingWriter, iter_landing_files

T0 = datetime(2023, 1, 16, tzinfo=UTC)
TOPIC = "decisions"


def batch(ids, first_offset=0):
    return [
        LandedMessage(TOPIC, 0, first_offset + i, "k", None, event_id, T0, event_id.encode())
        for i, event_id in enumerate(ids)
    ]


def landed(root):
    files = [f.path for f in iter_landing_files(root, TOPIC)]
    return pl.read_parquet(files).select("offset", "event_id").sort("offset").rows()


def test_a_new_epoch_lands_after_the_last_landed_offset(tmp_path):
    LandingWriter(tmp_path, epoch="a").write(TOPIC, 0, batch(["a0", "a1", "a2"]))
    LandingWriter(tmp_path, epoch="b").write(TOPIC, 0, batch(["b0", "b1"]))  # the broker counts from 0 again
    assert landed(tmp_path) == [(0, "a0"), (1, "a1"), (2, "a2"), (3, "b0"), (4, "b1")]


def test_redelivery_within_an_epoch_lands_nothing_twice_even_after_a_restart_of_the_writer(tmp_path):
    LandingWriter(tmp_path, epoch="a").write(TOPIC, 0, batch(["a0", "a1"]))
    LandingWriter(tmp_path, epoch="b").write(TOPIC, 0, batch(["b0", "b1"]))
    again = LandingWriter(tmp_path, epoch="b")  # a worker restarted in the same broker epoch
    assert again.write(TOPIC, 0, batch(["b0", "b1", "b2"])) is not None
    assert again.is_landed(TOPIC, 0, 1) and not again.is_landed(TOPIC, 0, 3)
    assert [event for _, event in landed(tmp_path)] == ["a0", "a1", "b0", "b1", "b2"]


def test_without_epochs_offsets_land_as_the_broker_numbered_them(tmp_path):
    writer = LandingWriter(tmp_path)
    writer.write(TOPIC, 0, batch(["x5", "x6"], first_offset=5))
    assert landed(tmp_path) == [(5, "x5"), (6, "x6")]
    assert writer.offset_base(TOPIC, 0) == 0


def test_the_first_epoch_of_a_fresh_folder_keeps_broker_offsets(tmp_path):
    writer = LandingWriter(tmp_path, epoch="first")
    writer.write(TOPIC, 0, batch(["e0", "e1"]))
    assert landed(tmp_path) == [(0, "e0"), (1, "e1")]


def test_the_fence_stops_landing_when_the_epoch_is_gone_or_cannot_be_confirmed(monkeypatch):
    import pytest

    from hcp import epochs
    from hcp.exceptions import BrokerError
    from hcp.settings import BrokerSettings

    answers = iter([True, False, BrokerError("timeout"), BrokerError("timeout"), BrokerError("timeout")])

    def exists(_admin, timeout=5.0):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(epochs, "epoch_topic_exists", exists)
    fence = epochs.EpochFence(BrokerSettings(), "e1")
    fence.check()  # the epoch is there
    with pytest.raises(epochs.BrokerRestartedError, match="restarted"):
        fence.check()
    with pytest.raises(epochs.BrokerRestartedError, match="cannot confirm"):
        fence.check(attempts=3)


def test_a_message_handed_over_twice_in_one_batch_lands_once(tmp_path):
    messages = batch(["a0", "a1", "a2"])
    LandingWriter(tmp_path).write(TOPIC, 0, [*messages, messages[1]])
    assert landed(tmp_path) == [(0, "a0"), (1, "a1"), (2, "a2")]
