"""The backtest's outputs: `decisions.csv`, `summary.json` and a chart of price against breakeven."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

from hcp.backtest.replay import MonthReplay, ScheduleValues
from hcp.policy import CurtailmentPolicy

DECISIONS_FILE = "decisions.csv"
SUMMARY_FILE = "summary.json"
CHART_FILE = "chart.png"


def summarise_values(values: ScheduleValues) -> dict[str, float | None]:
    """The summary figures of one model or the total; shares are None where their denominator is 0."""
    return {
        "always_on_usd": round(values.always_on_usd, 2),
        "hindsight_usd": round(values.hindsight_usd, 2),
        "policy_usd": round(values.policy_usd, 2),
        "share_of_optimal": _round(values.share_of_optimal),
        "share_of_gain": _round(values.share_of_gain),
        "lag1_usd": round(values.lag1_usd, 2),
        "hysteresis_usd": round(values.hysteresis_usd, 2),
    }


def build_summary(replay: MonthReplay, policy: CurtailmentPolicy) -> dict[str, object]:
    """The content of `summary.json`."""
    return {
        "node": replay.node,
        "month": replay.month,
        "intervals": replay.intervals.height,
        "interval_hours": replay.interval_hours,
        "policy": asdict(policy),
        "models": {m.group.name: summarise_values(m.values) for m in replay.models},
        "total": summarise_values(replay.total),
    }


def write_decisions(replay: MonthReplay, path: Path) -> None:
    """One row per interval per model: `interval_start, model, run_fraction`."""
    starts = replay.intervals["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    frames = [
        pl.DataFrame({"interval_start": starts, "model": m.group.name, "run_fraction": m.run_fractions})
        for m in replay.models
    ]
    pl.concat(frames).sort("interval_start", maintain_order=True).write_csv(path)


def write_chart(replay: MonthReplay, path: Path) -> None:
    """Price against each model's breakeven (top) and each model's run fraction (bottom)."""
    stamps = replay.intervals["ts"].to_list()
    figure, (prices, fractions) = plt.subplots(2, 1, figsize=(14, 7), sharex=True, height_ratios=(3, 2))
    prices.plot(stamps, replay.intervals["price"].to_numpy(), color="black", linewidth=0.6, label="real-time price")
    for model in replay.models:
        prices.plot(stamps, model.breakevens, linewidth=1.0, label=f"breakeven {model.group.name}")
        fractions.step(stamps, model.run_fractions, where="post", linewidth=0.8, label=model.group.name)
    prices.set_yscale("symlog", linthresh=100)
    prices.set_ylabel("USD/MWh")
    prices.set_title(f"{replay.node} {replay.month}: real-time price, breakevens and run fractions")
    prices.legend(loc="upper left", fontsize="small")
    fractions.set_ylabel("run fraction")
    fractions.set_ylim(-0.05, 1.05)
    fractions.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_outputs(replay: MonthReplay, policy: CurtailmentPolicy, out_dir: Path) -> dict[str, object]:
    """Write the three files into `out_dir` (created if needed) and return the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = build_summary(replay, policy)
    write_decisions(replay, out_dir / DECISIONS_FILE)
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    write_chart(replay, out_dir / CHART_FILE)
    return summary


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
