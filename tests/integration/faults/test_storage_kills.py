"""Fault: the landing writer and the warehouse loader killed between writing and committing.

Each is run in a child process that SIGKILLs itself at the worst moment (landing: the Parquet file written but not
yet renamed into place; loader: every row inserted but the transaction not committed), or at a seeded random
moment of a real load. After a restart nothing is missing, nothing is there twice, and the DuckDB file opens.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from hcp.fleet import load_fleet
from hcp.landing import LandedMessage, LandingWriter, iter_landing_files
from hcp.topics import DECISIONS
from warehouse.loader import load_landing

from .conftest import fault_runs, report_figures

pytestmark = [pytest.mark.integration, pytest.mark.fault]

T0 = datetime(2023, 1, 16, tzinfo=UTC)

LAND_AND_DIE_BEFORE_RENAME = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from hcp.landing import LandedMessage, LandingWriter

def die(*_):
    os.kill(os.getpid(), signal.SIGKILL)

Path.replace = die  # the file is written and fsynced; the rename into place never happens
root, first, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
t0 = datetime(2023, 1, 16, tzinfo=UTC)
LandingWriter(root).write("decisions", 0, [
    LandedMessage("decisions", 0, o, "k", None, f"e{o}", t0, b"v%d" % o) for o in range(first, first + count)
])
"""

LOAD_AND_DIE_BEFORE_COMMIT = """
import os, signal, sys
from pathlib import Path
import duckdb
from hcp.fleet import load_fleet
from warehouse.loader import load_landing

real_connect = duckdb.connect

def connect(*args, **kwargs):
    conn = real_connect(*args, **kwargs)
    return KillOnCommit(conn)

class KillOnCommit:
    def __init__(self, conn):
        self._conn = conn
    def commit(self):
        os.kill(os.getpid(), signal.SIGKILL)
    def __getattr__(self, name):
        return getattr(self._conn, name)

duckdb.connect = connect
load_landing(Path(sys.argv[1]), Path(sys.argv[2]), load_fleet())
"""

LOAD = """
import sys
from pathlib import Path
from hcp.fleet import load_fleet
from warehouse.loader import load_landing
load_landing(Path(sys.argv[1]), Path(sys.argv[2]), load_fleet())
"""


def run_child(code: str, *args: object) -> int:
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], check=False, timeout=120).returncode


def land(root: Path, first: int, count: int) -> None:
    LandingWriter(root).write(DECISIONS, 0, [
        LandedMessage(DECISIONS, 0, o, "k", None, f"e{o}", T0, b"v%d" % o) for o in range(first, first + count)
    ])


def landed_offsets(root: Path) -> list[int]:
    files = [f.path for f in iter_landing_files(root, DECISIONS)]
    return sorted(pl.read_parquet(files, columns=["offset"])["offset"].to_list())


def warehouse_offsets(path: Path) -> list[int]:
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            return [row[0] for row in con.execute('select "offset" from raw.decisions order by 1').fetchall()]
        except duckdb.CatalogException:  # killed before its first commit created the table
            return []


def test_landing_writer_killed_before_the_rename_leaves_nothing_half_landed(tmp_path):
    root = tmp_path / "landing"
    land(root, 0, 100)
    assert run_child(LAND_AND_DIE_BEFORE_RENAME, root, 100, 50) == -9
    leftovers = [p.name for p in (root / DECISIONS / "partition=0").iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1  # the orphan temp file: never read, never loaded
    assert landed_offsets(root) == list(range(100))

    land(root, 100, 50)  # the restarted worker gets the uncommitted batch again
    land(root, 90, 60)  # and an overlapping redelivery changes nothing
    assert landed_offsets(root) == list(range(150))
    report_figures("landing_writer_kill", events_injected=150, lost=0, duplicated=0)


def test_loader_killed_before_commit_rolls_back_and_the_rerun_loads_everything_once(tmp_path):
    root, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    land(root, 0, 100)
    load_landing(root, warehouse, load_fleet())
    land(root, 100, 100)
    assert run_child(LOAD_AND_DIE_BEFORE_COMMIT, root, warehouse) == -9
    assert warehouse_offsets(warehouse) == list(range(100))  # opens; the killed load left nothing
    load_landing(root, warehouse, load_fleet())
    load_landing(root, warehouse, load_fleet())  # a second run finds nothing new
    assert warehouse_offsets(warehouse) == list(range(200))
    report_figures("loader_kill_before_commit", events_injected=200, lost=0, duplicated=0)


@pytest.mark.parametrize("seed", range(1, fault_runs(2) + 1))
def test_loader_killed_at_a_random_moment_recovers_exactly(tmp_path, seed):
    rng = random.Random(seed)
    root, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    for batch in range(60):
        land(root, batch * 500, 500)
    child = subprocess.Popen([sys.executable, "-c", LOAD, str(root), str(warehouse)])
    time.sleep(rng.uniform(0.5, 4.0))  # python start-up and imports take about a second of that
    child.kill()
    killed_rc = child.wait()
    committed_before_kill = len(warehouse_offsets(warehouse)) if warehouse.exists() else 0  # opens after a kill
    started = time.monotonic()
    load_landing(root, warehouse, load_fleet())
    recovery_s = time.monotonic() - started
    offsets = warehouse_offsets(warehouse)
    assert offsets == list(range(30_000))
    report_figures("loader_kill_random", seed=seed, events_injected=30_000, killed_during_load=killed_rc == -9,
                   rows_committed_before_kill=committed_before_kill,
                   lost=0, duplicated=0, reload_s=round(recovery_s, 2))
