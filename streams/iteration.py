"""Faust's pure-Python stream iterator and message conductor, instead of its compiled (Cython) ones.

faust-streaming 0.15.3 ships compiled twins of `Stream.__aiter__` (`faust/_cython/streams.pyx`) and of the
conductor that hands each fetched message to the agents' channels (`faust/transport/_cython/conductor.pyx`).
With the compiled pair, ingest workers here stalled for good at start-up: with a table to recover and
telemetry already waiting, every agent sat in `take_events` while messages stayed tracked and unacknowledged
(faust's `wait_empty` listed them at shutdown), so nothing more was landed, dead letters included; or some
agents never received some messages and the commit point stopped at the gap (docs/commit-stalls.md, "second
mode"). The poison fault test failed 3 of 3 runs on a quiet machine with them and passed with faust's own
switch `NO_CYTHON=1`. That switch is read when faust is imported; `use_pure_python_iteration` has the same
effect later, by clearing the two module globals faust consults on every new stream and conductor handler.
The cost is the compiled paths' speed: docs/benchmarks.md has the ingest figures with this in place.
"""

from __future__ import annotations

import faust.streams
import faust.transport.conductor


def use_pure_python_iteration() -> None:
    """From now on, streams iterate and conductors deliver with faust's pure-Python code (as `NO_CYTHON=1`)."""
    faust.streams._CStreamIterator = None
    faust.transport.conductor.ConductorHandler = None
