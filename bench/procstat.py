"""CPU time and peak memory of a process, from /proc (Linux), without extra packages."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S  # utime, stime (fields 14, 15 of stat(5))


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def own_peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM), MiB.

    Not `getrusage(RUSAGE_SELF).ru_maxrss`: Linux keeps that across `execve`, so a child started by a process larger
    than itself reported its parent's size (the suite's billing child, session 11: its "peak" was the suite's own
    2,498.7 MiB to the tenth). VmHWM belongs to the address space, which `execve` replaces.
    """
    return peak_rss_mib(os.getpid())


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy so far (not idle, not waiting for I/O): /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS_PER_S
