from datetime import UTC, datetime

import pyarrow.parquet as pq

from hcp.landing import LANDING_SCHEMA, LandedMessage, LandingWriter, iter_landing_files, landed_high_watermark

T0 = datetime(2023, 1, 16, tzinfo=UTC)


def messages(first, last, topic="decisions", partition=0):
    return [
        LandedMessage(topic, partition, o, "k", 1, f"e{o}", T0, f'{{"o":{o}}}'.encode()) for o in range(first, last + 1)
    ]


def landed_offsets(root):
    return sorted(
        o for f in iter_landing_files(root) for o in pq.read_table(f.path).column("offset").to_pylist()
    )


def test_file_name_states_its_offset_range_and_schema_is_the_contract(tmp_path):
    path = LandingWriter(tmp_path).write("decisions", 2, messages(5, 9, partition=2))
    assert path.name == f"{5:020d}-{9:020d}.parquet"
    assert path.parent.name == "partition=2"
    assert pq.read_schema(path).remove_metadata().equals(LANDING_SCHEMA)


def test_landing_the_same_offsets_twice_changes_nothing(tmp_path):
    LandingWriter(tmp_path).write("decisions", 0, messages(0, 9))
    before = {f.path: f.path.stat().st_mtime_ns for f in iter_landing_files(tmp_path)}
    assert LandingWriter(tmp_path).write("decisions", 0, messages(0, 9)) is None
    assert {f.path: f.path.stat().st_mtime_ns for f in iter_landing_files(tmp_path)} == before


def test_overlapping_redelivery_lands_only_the_new_offsets(tmp_path):
    writer = LandingWriter(tmp_path)
    writer.write("decisions", 0, messages(0, 9))
    # A restarted worker re-reads from an older committed offset with other batch boundaries.
    restarted = LandingWriter(tmp_path)
    restarted.write("decisions", 0, messages(5, 14))
    assert landed_offsets(tmp_path) == list(range(15))
    assert landed_high_watermark(tmp_path, "decisions", 0) == 14


def test_partitions_are_independent(tmp_path):
    writer = LandingWriter(tmp_path)
    writer.write("decisions", 0, messages(0, 3))
    writer.write("decisions", 1, messages(0, 3, partition=1))
    assert [(f.partition, f.first_offset, f.last_offset) for f in iter_landing_files(tmp_path)] == [
        (0, 0, 3),
        (1, 0, 3),
    ]


def test_no_temporary_files_are_left_behind(tmp_path):
    LandingWriter(tmp_path).write("decisions", 0, messages(0, 3))
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]



def test_a_partition_that_comes_back_after_a_rebalance_lands_only_what_the_other_worker_did_not(tmp_path):
    # Worker A lands 0-9; the partition moves to worker B (10-19), then back to A, which is handed 10-24 again
    # (B's last acknowledgements were not committed).
    worker_a = LandingWriter(tmp_path)
    worker_a.write("decisions", 0, messages(0, 9))
    worker_a.forget_watermarks([("decisions", 0)])  # revoked
    LandingWriter(tmp_path).write("decisions", 0, messages(10, 19))
    worker_a.write("decisions", 0, messages(10, 24))
    assert landed_offsets(tmp_path) == list(range(25))


def test_without_forgetting_a_revoked_partition_a_writer_lands_the_other_workers_offsets_again(tmp_path):
    worker_a = LandingWriter(tmp_path)
    worker_a.write("decisions", 0, messages(0, 9))
    LandingWriter(tmp_path).write("decisions", 0, messages(10, 19))
    worker_a.write("decisions", 0, messages(10, 24))
    assert len(landed_offsets(tmp_path)) == 35, "the stale watermark is what forget_watermarks is for"
