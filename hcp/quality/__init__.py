"""The data-quality gate over landed batches (great-expectations), run before billing and training."""

from hcp.quality.exceptions import QualityError, QualityGateError
from hcp.quality.gate import data_docs_index, require_passed, run_gate
from hcp.quality.report import GateFailure, GateReport
from hcp.quality.settings import QualitySettings

__all__ = [
    "GateFailure",
    "GateReport",
    "QualityError",
    "QualityGateError",
    "QualitySettings",
    "data_docs_index",
    "require_passed",
    "run_gate",
]
