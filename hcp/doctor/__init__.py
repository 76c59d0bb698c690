"""`hcp doctor`: check a configuration and say exactly what is wrong (see `checks`)."""

from hcp.doctor.checks import CheckResult, run_checks

__all__ = ["CheckResult", "run_checks"]
