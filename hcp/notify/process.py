"""Starting the notifier as a child process (the demo runs one beside its workers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def start_notifier_process(env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    """Start `hcp notify` with `env` (its HCP_NOTIFY_* settings among them), writing to `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "hcp", "notify"], env=env, stdout=out, stderr=subprocess.STDOUT)
