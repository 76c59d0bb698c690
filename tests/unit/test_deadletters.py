from datetime import UTC, datetime

import pytest

from hcp.deadletters import (
    DEAD_LETTER_KEPT_BYTES,
    HEADER_REPLAY_OF,
    DeadLetterFilter,
    ReplayRegister,
    dead_letter_message,
    plan_replay,
    read_dead_letters,
    replay_dead_letters,
    replay_register_path,
)
from hcp.landing import LandedMessage, LandingWriter
from hcp.records import DeadLetter
from hcp.topics import DEAD_LETTERS, MARKET_PRICES, TELEMETRY_ASIC

T0 = datetime(2023, 1, 16, tzinfo=UTC)
VALID_PRICE = (
    b'{"event_id":"p1","event_time":"2023-01-16T00:15:00Z","kind":"energy_rt","node":"HB_WEST",'
    b'"interval_start":"2023-01-16T00:00:00Z","interval_end":"2023-01-16T00:15:00Z","value":31.5,"unit":"USD/MWh"}'
)


def land_letters(root, letters):
    """Land (origin topic, offset, error, payload) tuples as the landing agent lands dead letters."""
    messages = [
        LandedMessage(
            DEAD_LETTERS, 0, offset, "west-1", None, None, None, payload,
            tuple(DeadLetter(original_topic=topic, original_partition=0, original_offset=original,
                             error_class=error, error_message=f"{error} at value").headers()),
        )
        for offset, (topic, original, error, payload) in enumerate(letters)
    ]
    LandingWriter(root).write(DEAD_LETTERS, 0, messages)


@pytest.fixture
def landing(tmp_path):
    root = tmp_path / "landing"
    land_letters(root, [
        (TELEMETRY_ASIC, 0, "RecordError", b"{not json"),
        (MARKET_PRICES, 3, "RecordError", VALID_PRICE),
        (TELEMETRY_ASIC, 7, "DecisionError", b'{"x":1}'),
    ])
    return root


def test_listing_filters_by_topic_error_class_and_message(landing):
    assert len(read_dead_letters(landing)) == 3
    assert [x.origin.original_offset for x in read_dead_letters(landing, DeadLetterFilter(topic=TELEMETRY_ASIC))] \
        == [0, 7]
    assert len(read_dead_letters(landing, DeadLetterFilter(error_class="DecisionError"))) == 1
    assert len(read_dead_letters(landing, DeadLetterFilter(contains="recorderror AT"))) == 2
    assert read_dead_letters(landing, DeadLetterFilter(since=datetime(2100, 1, 1, tzinfo=UTC))) == []


def test_a_rejection_landed_twice_is_listed_once(tmp_path):
    root = tmp_path / "landing"
    land_letters(root, [(TELEMETRY_ASIC, 0, "RecordError", b"x"), (TELEMETRY_ASIC, 0, "RecordError", b"x")])
    assert len(read_dead_letters(root)) == 1


def test_replay_sends_only_letters_that_are_valid_now(landing):
    plan = plan_replay(read_dead_letters(landing), set())
    assert [x.origin.original_topic for x in plan.to_send] == [MARKET_PRICES]
    assert len(plan.still_invalid) == 2
    assert len(plan_replay(read_dead_letters(landing), set(), force=True).to_send) == 3


def test_replay_republishes_the_original_payload_to_its_topic_and_never_twice(landing, tmp_path):
    register = ReplayRegister(replay_register_path(tmp_path))
    sent = []

    def send(topic, key, value, headers):
        sent.append((topic, key, value, dict(headers)))

    plan = plan_replay(read_dead_letters(landing), register.replayed())
    assert replay_dead_letters(plan, register, send, T0) == 1
    [(topic, key, value, headers)] = sent
    assert (topic, key, value) == (MARKET_PRICES, "west-1", VALID_PRICE)
    assert headers[HEADER_REPLAY_OF].decode() == plan.to_send[0].letter_id

    again = plan_replay(read_dead_letters(landing), register.replayed())
    assert again.to_send == () and len(again.already_replayed) == 1
    assert replay_dead_letters(again, register, send, T0) == 0
    assert len(sent) == 1


def test_a_replay_that_fails_while_sending_is_still_recorded_so_it_never_runs_twice(landing, tmp_path):
    register = ReplayRegister(replay_register_path(tmp_path))

    def broken_send(*_):
        raise ConnectionError("broker gone")

    plan = plan_replay(read_dead_letters(landing), set(), force=True)
    with pytest.raises(ConnectionError):
        replay_dead_letters(plan, register, broken_send, T0)
    assert register.replayed() == {x.letter_id for x in plan.to_send}


def test_a_payload_too_large_to_send_is_kept_truncated_with_its_size_and_never_replayed(tmp_path):
    huge = b"x" * 1_200_000
    value, headers = dead_letter_message(huge, [("h", b"1")])
    assert len(value) == DEAD_LETTER_KEPT_BYTES
    assert dict(headers)["hcp.payload.truncated_from"] == b"1200000"
    root = tmp_path / "landing"
    origin = DeadLetter(original_topic=TELEMETRY_ASIC, original_partition=0, original_offset=5,
                        error_class="RecordError", error_message="too large")
    value, headers = dead_letter_message(huge, origin.headers())
    LandingWriter(root).write(DEAD_LETTERS, 0, [
        LandedMessage(DEAD_LETTERS, 0, 0, "west-1", None, None, None, value, tuple(headers))
    ])
    [letter] = read_dead_letters(root)
    assert letter.truncated_from == 1_200_000
    plan = plan_replay([letter], set(), force=True)
    assert plan.to_send == () and "truncated" in plan.still_invalid[0][1]
    small, same = dead_letter_message(b"{}", [("h", b"1")])
    assert (small, same) == (b"{}", [("h", b"1")])


def test_the_cli_lists_with_filters_and_a_dry_run_replay_sends_nothing(landing, tmp_path):
    from typer.testing import CliRunner

    from hcp.cli import app

    home = str(landing.parent)
    runner = CliRunner()
    listed = runner.invoke(app, ["dead-letters", "list", "--home", home, "--topic", TELEMETRY_ASIC],
                           env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "2 dead letter(s) match; 0 replayed" in listed.output
    dry = runner.invoke(app, ["dead-letters", "replay", "--home", home, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 to send, 0 replayed before, 2 still invalid" in dry.output
    assert not replay_register_path(landing.parent).exists()
