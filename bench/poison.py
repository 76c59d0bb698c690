"""Benchmark: valid telemetry landed per second with poison records among it, against the same without poison.

Run: `python -m bench.poison [--polls 20000] [--readings 20] [--poison-share 0.01] [--repeats 5] [--out F.json]`.

The work is the landing agent's for each batch, in this process, without broker or faust: validate and screen
the batch (`streams.landing.agents.sort_batch`), build each rejection's dead-letter message with its headers
(`hcp.deadletters.dead_letter_message`), write the landing files (`write_landed`: Parquet, fsync, rename).
Baseline: `--polls` valid ASIC polls (`simulators.poison.valid_polls`, `--readings` readings each) in batches of
`--batch` messages. With poison: other valid polls of the same shape with `--poison-share` poison records among
them (the kinds of issue 6 but the 1 MB payload, which a standard producer refuses), at seeded places. Every
phase has bytes and offsets of its own, so the worker's decode caches never serve one phase from another. The
phases alternate (baseline, poison, baseline...) `--repeats` times, each on a fresh landing folder, timed with
`time.perf_counter` after an unmeasured warm-up; the ratio is of the medians. Small polls are the hard case: a
poison record costs about what a valid one does, so the smaller the valid ones, the larger its share.
The end-to-end check that poison lands in the dead letters and valid polls all land is the fault test
(`tests/integration/faults/test_poison_records.py`); its throughput figure is too short to be stable.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from hcp.deadletters import dead_letter_message
from hcp.fleet import load_fleet
from hcp.landing import LandingWriter
from hcp.topics import TELEMETRY_ASIC
from simulators.poison import SENDABLE_POISON_KINDS, T0, demo_sites, poison_polls, valid_polls
from streams.landing.agents import sort_batch
from streams.landing.screening import TelemetryScreen
from streams.landing.triage import RawMessage, write_landed


def with_poison(valid: list[tuple[str, bytes]], share: float, run: str, seed: int = 1) -> list[tuple[str, bytes]]:
    """The valid messages with round(share x len) poison records at seeded places after each site's first poll.

    Each poison record is stamped with the time of the valid poll it precedes, so that "a day off" stays a day
    off the site's clock however long the run.
    """
    sites = demo_sites()
    count = round(share * len(valid))
    places = set(random.Random(seed).sample(range(len(sites), len(valid)), count))
    mixed: list[tuple[str, bytes]] = []
    poisoned = 0
    for index, message in enumerate(valid):
        if index in places:
            kind = SENDABLE_POISON_KINDS[poisoned % len(SENDABLE_POISON_KINDS)]
            at = T0 + timedelta(seconds=10 * (index // len(sites)))  # as `valid_polls` stamps them
            mixed.append(poison_polls(f"{run}-{index}", at, kinds=(kind,))[kind])
            poisoned += 1
        mixed.append(message)
    return mixed


def raw_batches(messages: list[tuple[str, bytes]], batch: int, first_offset: int) -> list[list[RawMessage]]:
    raw = [
        RawMessage(TELEMETRY_ASIC, 0, first_offset + i, key.encode(), value, 1_673_827_200_000)
        for i, (key, value) in enumerate(messages)
    ]
    return [raw[i : i + batch] for i in range(0, len(raw), batch)]


def phase_batches(
    phase: int, polls: int, readings: int, poison_share: float | None, batch: int
) -> list[list[RawMessage]]:
    """A phase's messages, new bytes and offsets each time: the worker's decode caches never serve a phase twice."""
    valid = valid_polls(f"bench{phase}", polls, readings=readings)
    messages = valid if poison_share is None else with_poison(valid, poison_share, run=f"bench{phase}")
    return raw_batches(messages, batch, first_offset=phase * 10 * polls)


def land_phase(batches: list[list[RawMessage]], known_sites: frozenset[str]) -> tuple[float, int, int]:
    """Seconds to land every batch as the landing agent does, valid rows landed, dead letters built."""
    with tempfile.TemporaryDirectory(prefix="hcp-bench-poison-") as tmp:
        writer = LandingWriter(Path(tmp))
        screen = TelemetryScreen(known_sites)
        landed = lettered = 0
        started = time.perf_counter()
        for batch in batches:
            triage, rejections = sort_batch(writer, batch, screen)
            letters = [dead_letter_message(r.message.value, r.dead_letter.headers()) for r in rejections]
            write_landed(writer, triage.landed, triage.rejected)
            landed += triage.landed_count
            lettered += len(letters)
        return time.perf_counter() - started, landed, lettered


def measure(polls: int = 20_000, readings: int = 20, poison_share: float = 0.01, repeats: int = 5,
            batch: int = 500) -> dict[str, object]:
    known_sites = frozenset(site.site_id for site in load_fleet().sites)
    land_phase(phase_batches(0, 2 * batch, readings, None, batch), known_sites)  # warm-up, not measured
    land_phase(phase_batches(1, 2 * batch, readings, poison_share, batch), known_sites)
    clean_rates, mixed_rates, letters, poison = [], [], 0, 0
    for repeat in range(repeats):
        seconds, landed, _ = land_phase(phase_batches(2 + 2 * repeat, polls, readings, None, batch), known_sites)
        assert landed == polls, f"baseline landed {landed} of {polls} valid polls"
        clean_rates.append(landed / seconds)
        batches = phase_batches(3 + 2 * repeat, polls, readings, poison_share, batch)
        poison = sum(len(b) for b in batches) - polls
        seconds, landed, letters = land_phase(batches, known_sites)
        assert landed == polls, f"with poison, landed {landed} of {polls} valid polls"
        assert letters == poison, f"{letters} dead letters for {poison} poison records"
        mixed_rates.append(landed / seconds)
    baseline, poisoned = statistics.median(clean_rates), statistics.median(mixed_rates)
    return {
        "valid_polls": polls,
        "readings_per_poll": readings,
        "poison_records": poison,
        "dead_letters": letters,
        "repeats": repeats,
        "baseline_valid_per_s": round(baseline),
        "with_poison_valid_per_s": round(poisoned),
        "baseline_runs": [round(r) for r in clean_rates],
        "with_poison_runs": [round(r) for r in mixed_rates],
        "ratio": round(poisoned / baseline, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.poison", description=__doc__.split("\n\n")[0])
    parser.add_argument("--polls", type=int, default=20_000, help="valid polls per phase (default 20000)")
    parser.add_argument("--readings", type=int, default=20, help="readings per valid poll (default 20)")
    parser.add_argument("--poison-share", type=float, default=0.01, help="poison per valid poll (default 0.01)")
    parser.add_argument("--repeats", type=int, default=5, help="alternating phases of each kind (default 5)")
    parser.add_argument("--batch", type=int, default=500, help="messages per landing batch (default 500)")
    parser.add_argument("--out", type=Path, help="also write the result as JSON here")
    args = parser.parse_args()
    if args.polls < 100 or not 0 < args.poison_share < 1 or args.repeats < 1 or args.batch < 1:
        parser.error("need --polls >= 100, 0 < --poison-share < 1, --repeats >= 1 and --batch >= 1")
    result = measure(args.polls, args.readings, args.poison_share, args.repeats, args.batch)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
