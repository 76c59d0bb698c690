from datetime import UTC, datetime

import pyarrow.parquet as pq

from hcp.landing import (
    LANDING_SCHEMA,
    LandedMessage,
    LandedRanges,
    LandingWriter,
    iter_landing_files,
    landed_high_watermark,
    landed_ranges,
)

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
    [path] = LandingWriter(tmp_path).write("decisions", 2, messages(5, 9, partition=2))
    assert path.name == f"{5:020d}-{9:020d}.parquet"
    assert path.parent.name == "partition=2"
    assert pq.read_schema(path).remove_metadata().equals(LANDING_SCHEMA)


def test_landing_the_same_offsets_twice_changes_nothing(tmp_path):
    LandingWriter(tmp_path).write("decisions", 0, messages(0, 9))
    before = {f.path: f.path.stat().st_mtime_ns for f in iter_landing_files(tmp_path)}
    assert LandingWriter(tmp_path).write("decisions", 0, messages(0, 9)) == []
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
    worker_a.forget_landed_ranges([("decisions", 0)])  # revoked
    LandingWriter(tmp_path).write("decisions", 0, messages(10, 19))
    worker_a.write("decisions", 0, messages(10, 24))
    assert landed_offsets(tmp_path) == list(range(25))


def test_without_forgetting_a_revoked_partition_a_writer_lands_the_other_workers_offsets_again(tmp_path):
    worker_a = LandingWriter(tmp_path)
    worker_a.write("decisions", 0, messages(0, 9))
    LandingWriter(tmp_path).write("decisions", 0, messages(10, 19))
    worker_a.write("decisions", 0, messages(10, 24))
    assert len(landed_offsets(tmp_path)) == 35, "stale landed ranges are what forget_landed_ranges is for"


def file_ranges(root):
    return [(f.first_offset, f.last_offset) for f in iter_landing_files(root)]


def test_offsets_redelivered_after_later_ones_landed_still_land(tmp_path):
    # A consumer drained 10-19 and dropped them, handed over 20-29, then was sought back to 10 (docs/commit-stalls.md,
    # "Session 11"): a high-watermark rule would take 10-19 as landed and lose them.
    writer = LandingWriter(tmp_path)
    writer.write("decisions", 0, messages(0, 9))
    writer.write("decisions", 0, messages(20, 29))
    assert [p.name for p in writer.write("decisions", 0, messages(10, 29))] == [f"{10:020d}-{19:020d}.parquet"]
    assert landed_offsets(tmp_path) == list(range(30))
    assert LandingWriter(tmp_path).write("decisions", 0, messages(0, 29)) == []  # a restarted writer reads the ranges


def test_a_batch_around_a_landed_range_lands_in_files_that_do_not_overlap_it(tmp_path):
    writer = LandingWriter(tmp_path)
    writer.write("decisions", 0, messages(10, 14))
    writer.write("decisions", 0, messages(0, 29))
    assert file_ranges(tmp_path) == [(0, 9), (10, 14), (15, 29)]
    assert landed_offsets(tmp_path) == list(range(30))


def test_an_offset_dead_lettered_inside_a_file_counts_as_landed_one_at_the_end_does_not(tmp_path):
    batch = [m for m in messages(0, 9) if m.offset not in (4, 9)]  # 4 and 9 were dead-lettered
    writer = LandingWriter(tmp_path)
    writer.write("decisions", 0, batch)
    assert writer.is_landed("decisions", 0, 4)
    assert not writer.is_landed("decisions", 0, 9)  # its redelivery sends its dead letter again: at least once
    assert not writer.is_landed("decisions", 0, 10)


def test_landed_ranges_merge_where_they_touch_and_answer_coverage():
    ranges = LandedRanges([(20, 29), (0, 9)])
    ranges.add(10, 14)
    assert ranges.ranges() == [(0, 14), (20, 29)]
    assert ranges.covers(14) and not ranges.covers(15) and ranges.covers(20) and not ranges.covers(30)
    assert ranges.landed_between(14, 30) and not ranges.landed_between(14, 20) and not ranges.landed_between(21, 40)
    ranges.add(15, 19)
    assert ranges.ranges() == [(0, 29)] and ranges.high == 29
    ranges.add(40, 45)
    ranges.add(31, 50)  # overlaps and swallows a later range
    assert ranges.ranges() == [(0, 29), (31, 50)]
    assert LandedRanges().high == -1 and not LandedRanges().covers(0)


def test_landed_ranges_are_read_from_the_file_names(tmp_path):
    writer = LandingWriter(tmp_path)
    writer.write("decisions", 0, messages(0, 4))
    writer.write("decisions", 0, messages(10, 14))
    assert landed_ranges(tmp_path, "decisions", 0).ranges() == [(0, 4), (10, 14)]
    assert landed_high_watermark(tmp_path, "decisions", 0) == 14
    assert landed_ranges(tmp_path, "decisions", 1).ranges() == []


def test_a_files_name_spans_the_rejections_beside_its_messages(tmp_path):
    batch = [m for m in messages(0, 9) if m.offset not in (0, 9)]  # 0 and 9 were dead-lettered
    [path] = LandingWriter(tmp_path).write("decisions", 0, batch, rejected=[0, 9])
    assert path.name == f"{0:020d}-{9:020d}.parquet"
    assert landed_offsets(tmp_path) == list(range(1, 9))
    restarted = LandingWriter(tmp_path)
    assert restarted.is_landed("decisions", 0, 0) and restarted.is_landed("decisions", 0, 9)
    assert restarted.write("decisions", 0, [], rejected=[10, 11]) == []  # rejections alone write no file
    assert not restarted.is_landed("decisions", 0, 10)  # so their redelivery is dead-lettered again
