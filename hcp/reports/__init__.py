"""Reports built from the warehouse: the daily operations and finance report."""

from hcp.reports.daily import DailyReport, build_daily_report, report_path, resolve_day

__all__ = ["DailyReport", "build_daily_report", "report_path", "resolve_day"]
