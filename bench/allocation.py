"""Benchmark: one site allocation for 100,000 ASICs and 10,000 GPUs, against scipy's LP solver on the same instance.

Run: `python bench/allocation.py [--repeat N] [--seed S] [--out results.json]`. Prints a table; writes JSON only
with `--out`. The figures are for the machine it runs on (reported in the output); ratios travel better.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy
from scipy.optimize import linprog

from hcp.allocation import (
    AllocationProblem,
    AsicGroup,
    GpuClass,
    GpuDemand,
    Market,
    SiteCap,
    allocate,
    build_problem,
    dispatch_step,
    solve_fractional,
    start_dispatch,
    with_demands,
)
from hcp.economics import ASIC_MODELS, GPU_MODELS, POWER_STATE_PROFILES, PowerState

ASICS, GPUS, GROUPS_PER_MODEL, CAP_MW = 100_000, 10_000, 300, 250.0
MARKET = Market(energy_price_usd_mwh=45.0, hashprice_usd_ph_day=50.0)


def build_fleet(seed: int) -> tuple[SiteCap, list[AsicGroup], list[GpuDemand]]:
    """100,000 ASICs in 3 models x 300 groups; 10,000 GPUs in demands of 1 to 8 GPUs of every class."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, ASICS), len(ASIC_MODELS) * GROUPS_PER_MODEL - 1))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, ASICS], strict=True)]
    models = [model for model in ASIC_MODELS.values() for _ in range(GROUPS_PER_MODEL)]
    states = list(PowerState)
    groups = [
        AsicGroup(f"g{i}", model, size, rng.choice(states))
        for i, (model, size) in enumerate(zip(models, sizes, strict=True))
    ]
    demands, left = [], GPUS
    while left:
        gpus = min(left, rng.randint(1, 8))
        gpu_class = rng.choices(list(GpuClass), weights=[2, 3, 5])[0]
        gpu_type = rng.choice(list(GPU_MODELS.values()))
        demands.append(GpuDemand(f"d{len(demands)}", gpu_class, gpu_type, gpus, rng.uniform(1.0, 4.0)))
        left -= gpus
    return SiteCap("bench", CAP_MW), groups, demands


def time_calls(call: Callable[[], object], repeat: int) -> list[float]:
    """Seconds per call, after one warm-up call."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def lp_baseline(problem: AllocationProblem, market: Market) -> Callable[[], float]:
    """scipy linprog (HiGHS) on the same instance: one variable per (model, state) and per demand; protected work
    fixed at its request. Matrices are built once; the returned call solves and gives the optimum in USD/h."""
    price, hashprice = market.energy_price_usd_mwh, market.hashprice_usd_ph_day
    states = list(POWER_STATE_PROFILES.values())
    hashrate = np.repeat(problem.model_hashrate_th, len(states)) * np.tile([s.hashrate_factor for s in states], 3)
    mw = np.repeat(problem.model_power_w, len(states)) * np.tile([s.power_factor for s in states], 3) / 1e6
    cost = -np.concatenate(
        [hashrate / 1000 * hashprice / 24 - mw * price, problem.demand_value - problem.demand_mw * price]
    )
    a_ub = np.concatenate([mw, problem.demand_mw])[None, :]
    a_eq = np.zeros((len(problem.models), cost.size))
    for m in range(len(problem.models)):
        a_eq[m, m * len(states) : (m + 1) * len(states)] = 1.0
    protected = problem.demand_tier == 0
    bounds = [(0, None)] * (len(problem.models) * len(states)) + [
        (float(g) if p else 0.0, float(g)) for g, p in zip(problem.demand_gpus, protected, strict=True)
    ]

    def solve() -> float:
        res = linprog(
            cost,
            A_ub=a_ub,
            b_ub=[problem.site.power_cap_mw],
            A_eq=a_eq,
            b_eq=problem.model_count,
            bounds=bounds,
            method="highs",
        )
        return -float(res.fun)

    return solve


def summarise(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "runs": len(times),
        "per_second": len(times) / sum(times),
        "p50_ms": statistics.median(ordered) * 1e3,
        "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="timed runs per measurement (default 200)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic fleet (default 7)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here (default: print only)")
    args = parser.parse_args()

    site, groups, demands = build_fleet(args.seed)
    problem = build_problem(site, groups, demands)
    allocation = allocate(problem, MARKET)
    lp_solve = lp_baseline(problem, MARKET)
    lp_repeat = max(5, min(args.repeat, 30))
    state = start_dispatch(problem)
    results = {
        "allocate (compiled fleet)": summarise(time_calls(lambda: allocate(problem, MARKET), args.repeat)),
        "new GPU demand + allocate": summarise(
            time_calls(lambda: allocate(with_demands(problem, demands), MARKET), args.repeat)
        ),
        "dispatch_step (target + temporal rules)": summarise(
            time_calls(lambda: dispatch_step(state, problem, MARKET, MARKET.energy_price_usd_mwh), args.repeat)
        ),
        "solve_fractional": summarise(time_calls(lambda: solve_fractional(problem, MARKET), args.repeat)),
        "explain (reports for every option)": summarise(time_calls(allocation.explain, max(5, args.repeat // 10))),
        "build_problem from objects + allocate": summarise(
            time_calls(lambda: allocate(build_problem(site, groups, demands), MARKET), max(5, args.repeat // 10))
        ),
        "baseline: scipy linprog (HiGHS)": summarise(time_calls(lp_solve, lp_repeat)),
    }
    ours = results["allocate (compiled fleet)"]["p50_ms"]
    baseline = results["baseline: scipy linprog (HiGHS)"]["p50_ms"]
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "fleet": {
            "asics": ASICS,
            "asic_groups": len(groups),
            "gpus": GPUS,
            "gpu_demands": len(demands),
            "cap_mw": CAP_MW,
        },
        "results": results,
        "speedup_vs_linprog_p50": baseline / ours,
        "value_usd_per_hour": {
            "allocate_integral": allocation.value_usd_per_hour,
            "solve_fractional": solve_fractional(problem, MARKET).value_usd_per_hour,
            "linprog": lp_solve(),
        },
        "total_mw": allocation.total_mw,
    }
    print_report(report)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
        print(f"wrote {args.out}")


def print_report(report: dict) -> None:
    machine, fleet = report["machine"], report["fleet"]
    print(
        f"machine: {machine['cpus']} CPUs, {machine['platform']}, Python {machine['python']}, "
        f"numpy {machine['numpy']}, scipy {machine['scipy']}"
    )
    print(
        f"fleet: {fleet['asics']:,} ASICs in {fleet['asic_groups']} groups, {fleet['gpus']:,} GPUs in "
        f"{fleet['gpu_demands']:,} demands, cap {fleet['cap_mw']} MW"
    )
    print(f"{'measurement':<42} {'runs':>5} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, row in report["results"].items():
        print(f"{name:<42} {row['runs']:>5} {row['per_second']:>9.0f} {row['p50_ms']:>8.3f} {row['p99_ms']:>8.3f}")
    print(f"allocate is {report['speedup_vs_linprog_p50']:.0f}x faster than linprog (p50)")
    values = report["value_usd_per_hour"]
    print(
        "value USD/h: " + ", ".join(f"{k} {v:,.2f}" for k, v in values.items()) + f"; total {report['total_mw']:.3f} MW"
    )


if __name__ == "__main__":
    main()
