"""`hcp dead-letters list` and `hcp dead-letters replay`: the rejected messages, and re-sending them after a fix."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hcp.cli.context import broker_settings, storage_settings
from hcp.cli.options import BootstrapOption, HomeOption, PortOption
from hcp.deadletters import (
    DeadLetterFilter,
    ReplayRegister,
    plan_replay,
    read_dead_letters,
    replay_dead_letters,
    replay_register_path,
)

console = Console()
deadletters_app = typer.Typer(help="List landed dead letters and replay them after a fix.", no_args_is_help=True)

TopicOption = Annotated[str | None, typer.Option("--topic", help="Only letters rejected from this topic.")]
ErrorClassOption = Annotated[str | None, typer.Option("--error-class", help="Only this error class, e.g. RecordError.")]
ContainsOption = Annotated[
    str | None, typer.Option("--contains", help="Only letters whose error message contains this text.")
]
SinceOption = Annotated[
    datetime | None, typer.Option("--since", help="Only letters landed at or after this UTC time.")
]
UntilOption = Annotated[datetime | None, typer.Option("--until", help="Only letters landed before this UTC time.")]


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _filter(topic: str | None, error_class: str | None, contains: str | None, since: datetime | None,
            until: datetime | None) -> DeadLetterFilter:
    return DeadLetterFilter(topic, error_class, contains, _utc(since), _utc(until))


@deadletters_app.command("list")
def list_dead_letters(
    home: HomeOption = None,
    topic: TopicOption = None,
    error_class: ErrorClassOption = None,
    contains: ContainsOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Letters to show at most.")] = 50,
) -> None:
    """List landed dead letters (origin, error, size, whether replayed), oldest first."""
    storage = storage_settings(home)
    letters = read_dead_letters(storage.landing_dir, _filter(topic, error_class, contains, since, until))
    replayed = ReplayRegister(replay_register_path(storage.home)).replayed()
    table = Table("id", "topic", "partition", "offset", "error", "bytes", "landed at", "replayed")
    for letter in letters[:limit]:
        origin = letter.origin
        table.add_row(
            letter.letter_id, origin.original_topic, str(origin.original_partition), str(origin.original_offset),
            f"{origin.error_class}: {origin.error_message[:80]}", f"{letter.size:,}",
            letter.landed_at.isoformat(timespec="seconds"), "yes" if letter.letter_id in replayed else "no",
        )
    console.print(table)
    console.print(f"{len(letters)} dead letter(s) match; {sum(x.letter_id in replayed for x in letters)} replayed")


@deadletters_app.command("replay")
def replay(
    home: HomeOption = None,
    port: PortOption = None,
    bootstrap_servers: BootstrapOption = None,
    topic: TopicOption = None,
    error_class: ErrorClassOption = None,
    contains: ContainsOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Also send letters that still fail validation (they come back).")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be sent; send nothing.")] = False,
) -> None:
    """Re-publish matching dead letters to their original topic, each at most once (recorded before sending)."""
    from hcp.producer import RecordProducer

    storage = storage_settings(home)
    letters = read_dead_letters(storage.landing_dir, _filter(topic, error_class, contains, since, until))
    register = ReplayRegister(replay_register_path(storage.home))
    plan = plan_replay(letters, register.replayed(), force=force)
    for letter, reason in plan.still_invalid[:10]:
        console.print(f"still invalid, not sent: {letter.letter_id}: {reason}")
    console.print(
        f"{len(plan.to_send)} to send, {len(plan.already_replayed)} replayed before, "
        f"{len(plan.still_invalid)} still invalid"
    )
    if dry_run or not plan.to_send:
        return
    with RecordProducer(broker_settings(port, bootstrap_servers), client_id="hcp-deadletters-replay") as producer:
        sent = replay_dead_letters(plan, register, producer.send_raw, datetime.now(UTC))
    console.print(f"[green]replayed {sent} dead letter(s)[/]; recorded in {register.path}")


def register(app: typer.Typer) -> None:
    app.add_typer(deadletters_app, name="dead-letters")
