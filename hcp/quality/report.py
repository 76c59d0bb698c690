"""What a gate run found: every failed check, with the rows that failed it. Plain data, no GE objects."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class GateFailure:
    """One failed check: its kind (schema, range, uniqueness, freshness, manifest), what it expects, where."""

    check: str
    dataset: str
    expectation: str
    failing_rows: int | None
    examples: tuple[str, ...] = ()

    def describe(self) -> str:
        count = f" ({self.failing_rows} failing row(s))" if self.failing_rows else ""
        where = f": {'; '.join(self.examples)}" if self.examples else ""
        return f"[{self.check}] {self.dataset}: {self.expectation}{count}{where}"


@dataclass(frozen=True)
class GateReport:
    """The outcome of one gate run over the landed batches."""

    checked_at: str
    files: int
    pending_files: int
    checks: int
    failures: tuple[GateFailure, ...] = ()
    data_docs: str | None = None
    datasets: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        """One line per failure (or a one-line pass), for logs, exceptions and the CLI."""
        head = (
            f"quality gate {'passed' if self.passed else 'FAILED'}: {self.files} landed file(s) "
            f"({self.pending_files} not loaded yet), {self.checks} checks, {len(self.failures)} failed"
        )
        lines = [head, *(f"  - {failure.describe()}" for failure in self.failures)]
        if self.data_docs:
            lines.append(f"  data docs: {self.data_docs}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The report as a Markdown artifact: a summary line and a table of failures."""
        lines = [f"**{'Passed' if self.passed else 'FAILED'}**: {self.describe().splitlines()[0]}", ""]
        if self.failures:
            lines += ["| check | dataset | expectation | failing rows | examples |", "| --- | --- | --- | --- | --- |"]
            lines += [
                f"| {f.check} | {f.dataset} | {f.expectation} | {f.failing_rows or ''} | "
                f"{'<br>'.join(e.replace('|', '/') for e in f.examples)} |"
                for f in self.failures
            ]
        if self.data_docs:
            lines += ["", f"Data Docs: `{self.data_docs}`"]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}
