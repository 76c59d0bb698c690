"""Alert rules evaluated in the stream (pure): telemetry, prices, decisions and the pipeline in, `Alert`
transitions out. The agent in `streams/alerting` feeds it; the notifier in `hcp.notify` delivers what it fires."""

from hcp.alerting.book import AlertBook, Condition
from hcp.alerting.evaluator import AlertEvaluator
from hcp.alerting.rules import RULES, Rule
from hcp.alerting.settings import AlertSettings

__all__ = ["RULES", "AlertBook", "AlertEvaluator", "AlertSettings", "Condition", "Rule"]
