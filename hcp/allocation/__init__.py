"""Site power allocation under the power cap: a pure core (no I/O, no faust, no prefect).

`build_problem` compiles a site, its ASIC groups and GPU demand to arrays; `allocate` gives the integral
allocation at one market; `solve_fractional` the LP optimum it is measured against; `dispatch_step` adds hysteresis,
dwell, the high strike and staggered ramps over successive intervals.
"""

from hcp.allocation.config import DispatchConfig
from hcp.allocation.dispatcher import DispatchState, DispatchStep, GroupAction, dispatch_step, start_dispatch
from hcp.allocation.exceptions import AllocationError
from hcp.allocation.inputs import AsicGroup, GpuClass, GpuDemand, Market, SiteCap, gpu_class_for
from hcp.allocation.knapsack import FractionalSolution, allocate, distribute_levels, solve_fractional
from hcp.allocation.ladder import STATE_ORDER, StateLadder, build_ladder
from hcp.allocation.options import Options, build_options, rank_options
from hcp.allocation.problem import AllocationProblem, build_problem, with_demands, with_levels
from hcp.allocation.result import Allocation, OptionReport

__all__ = [
    "STATE_ORDER",
    "Allocation",
    "AllocationError",
    "AllocationProblem",
    "AsicGroup",
    "DispatchConfig",
    "DispatchState",
    "DispatchStep",
    "FractionalSolution",
    "GpuClass",
    "GpuDemand",
    "GroupAction",
    "Market",
    "OptionReport",
    "Options",
    "SiteCap",
    "StateLadder",
    "allocate",
    "build_ladder",
    "build_options",
    "build_problem",
    "dispatch_step",
    "distribute_levels",
    "gpu_class_for",
    "rank_options",
    "solve_fractional",
    "start_dispatch",
    "with_demands",
    "with_levels",
]
