from datetime import UTC, datetime, timedelta

from hcp.landing import LandedMessage
from hcp.topics import DECISIONS, TELEMETRY_ASIC
from streams.landing.screening import TelemetryScreen, screen_triage
from streams.landing.triage import Triage

T0 = datetime(2023, 1, 16, tzinfo=UTC)


def poll(offset, site, at, topic=TELEMETRY_ASIC):
    return LandedMessage(topic, 0, offset, site, None, f"e{offset}", at, b"{}")


def screened(messages):
    triage = Triage(landed={(messages[0].topic, 0): messages})
    return screen_triage(triage, TelemetryScreen(frozenset({"west-1", "east-1"})))


def test_telemetry_from_a_site_outside_the_fleet_is_rejected_with_the_reason():
    result = screened([poll(0, "west-1", T0), poll(1, "mars-1", T0)])
    assert [m.offset for m in result.landed[(TELEMETRY_ASIC, 0)]] == [0]
    [rejection] = result.rejected
    assert rejection.dead_letter.original_offset == 1
    assert rejection.dead_letter.error_class == "ImplausibleRecordError"
    assert "mars-1" in rejection.dead_letter.error_message
    assert rejection.message.key == b"mars-1"


def test_a_poll_a_day_ahead_or_behind_its_site_is_rejected_and_does_not_move_the_reference():
    day = timedelta(days=1)
    result = screened([
        poll(0, "west-1", T0), poll(1, "west-1", T0 + day), poll(2, "west-1", T0 + timedelta(minutes=1)),
        poll(3, "west-1", T0 - day - timedelta(minutes=5)), poll(4, "east-1", T0 + day),
    ])
    assert [m.offset for m in result.landed[(TELEMETRY_ASIC, 0)]] == [0, 2, 4]  # east-1 has its own reference
    assert [r.dead_letter.original_offset for r in result.rejected] == [1, 3]
    assert "ahead" in result.rejected[0].dead_letter.error_message
    assert "behind" in result.rejected[1].dead_letter.error_message


def test_other_topics_and_a_missing_screen_pass_unchanged():
    messages = [poll(0, "anywhere", T0, topic=DECISIONS)]
    assert screened(messages).landed == {(DECISIONS, 0): messages}
    triage = Triage(landed={(TELEMETRY_ASIC, 0): [poll(0, "mars-1", T0)]})
    assert screen_triage(triage, None) is triage


def test_a_site_whose_clock_really_moved_is_accepted_from_its_third_poll_ahead():
    day = timedelta(days=1)
    result = screened([poll(i, "west-1", T0 + (day if i else timedelta()) + timedelta(minutes=i)) for i in range(5)])
    assert [r.dead_letter.original_offset for r in result.rejected] == [1, 2]
    assert [m.offset for m in result.landed[(TELEMETRY_ASIC, 0)]] == [0, 3, 4]


def test_repeated_copies_of_one_wrong_timestamp_never_move_the_reference():
    wrong = T0 + timedelta(days=1)
    result = screened([poll(0, "west-1", T0)] + [poll(i, "west-1", wrong) for i in range(1, 6)]
                      + [poll(6, "west-1", T0 + timedelta(minutes=1))])
    assert [m.offset for m in result.landed[(TELEMETRY_ASIC, 0)]] == [0, 6]
