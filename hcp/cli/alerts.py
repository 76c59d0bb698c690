"""`hcp notify` (the notifier process) and `hcp alerts` (open alerts, acknowledge, delivery attempts)."""

from __future__ import annotations

import getpass
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hcp.cli.context import broker_settings, storage_settings
from hcp.cli.options import BootstrapOption, HomeOption, PortOption
from hcp.exceptions import ConfigError
from hcp.notify.outbox import Outbox
from hcp.notify.runner import outbox_path
from hcp.settings import load_settings

console = Console()
alerts_app = typer.Typer(help="Open alerts, acknowledgements and notification attempts.", no_args_is_help=True)


def _outbox(home: Path | None) -> Outbox:
    path = outbox_path(storage_settings(home))
    if not path.exists():
        raise ConfigError(f"no notification outbox at {path}: has `hcp notify` run with this --home?")
    return Outbox(path)


def notify(home: HomeOption = None, port: PortOption = None, bootstrap_servers: BootstrapOption = None) -> None:
    """Run the notifier: deliver the `alerts` topic to the channels of HCP_NOTIFY_* until Ctrl-C or SIGTERM."""
    from hcp.notify.runner import run_notifier
    from hcp.notify.settings import NotifySettings
    from hcp.observability import MetricsSettings

    settings = load_settings(NotifySettings)
    if not settings.configured():
        console.print("[yellow]no channel configured (HCP_NOTIFY_WEBHOOK_URL, _CHAT_WEBHOOK_URL, _SMTP_HOST): "
                      "alerts are recorded, nothing is sent[/]")
    run_notifier(settings, broker_settings(port, bootstrap_servers), storage_settings(home),
                 load_settings(MetricsSettings))


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S") if epoch else ""


@alerts_app.command("list")
def list_alerts(home: HomeOption = None) -> None:
    """Alerts firing now, as the notifier recorded them."""
    outbox = _outbox(home)
    table = Table("severity", "rule", "site", "received (UTC)", "acked by", "escalated")
    table.add_column("alert id (for `hcp alerts ack`)", overflow="fold", ratio=1)
    for row in outbox.open_alerts():
        table.add_row(row["severity"], row["rule"], row["site_id"] or "", _when(row["received_at"]),
                      row["acked_by"] or "", "yes" if row["escalated"] else "", row["alert_id"])
    console.print(table)


@alerts_app.command("ack")
def ack(
    alert_id: Annotated[str, typer.Argument(help="The alert id (see `hcp alerts list`).")],
    by: Annotated[str | None, typer.Option(envvar="USER", help="Who acknowledges (default: $USER).")] = None,
    home: HomeOption = None,
) -> None:
    """Acknowledge an alert: it is not escalated any more."""
    if not _outbox(home).ack(alert_id, by or getpass.getuser(), time.time()):
        raise ConfigError(f"no alert {alert_id!r} in the outbox; `hcp alerts list` shows the open ones")
    console.print(f"acknowledged {alert_id}")


@alerts_app.command("attempts")
def attempts(
    limit: Annotated[int, typer.Option(help="How many of the latest attempts.")] = 30, home: HomeOption = None
) -> None:
    """The latest delivery attempts with their outcome (all of them: notify/attempts.jsonl under the home)."""
    table = Table("at (UTC)", "channel", "kind", "alert id", "try", "outcome", "error")
    for row in _outbox(home).attempt_rows(limit):
        table.add_row(_when(row["at"]), row["channel"], row["kind"], row["alert_id"], str(row["attempt"]),
                      row["outcome"], (row["error"] or "")[:60])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("notify")(notify)
    app.add_typer(alerts_app, name="alerts")
