"""Free GPU capacity of a cluster, indexed per GPU type so that a placement is found without scanning nodes.

Capacity is counted per GPU in milli-GPUs (1000 = a whole free GPU). A job of whole GPUs takes fully free GPUs
of one node; a share of one GPU takes part of a single GPU. Each type's pool keeps nodes bucketed by their
count of fully free GPUs and partly used GPUs bucketed by their free milli-GPUs, in heaps with lazy deletion.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hcp.routing.exceptions import RoutingError
from hcp.routing.jobs import MILLI_PER_GPU, Node, PlacementPolicy


@dataclass(frozen=True)
class Slots:
    """Where a job runs: a node index, the GPU indexes on it and the milli-GPUs taken on each."""

    node: int
    gpus: tuple[int, ...]
    milli: int


class _TypePool:
    """The nodes of one GPU type, indexed by free capacity."""

    def __init__(self, order: int, max_gpus: int) -> None:
        self.order = order
        self.max_gpus = max_gpus
        self.full_heaps: list[list[int]] = [[] for _ in range(max_gpus + 1)]
        self.full_count = [0] * (max_gpus + 1)
        self.partial_heaps: dict[int, list[tuple[int, int]]] = {}
        self.partial_count: dict[int, int] = {}
        self.partial_values: list[int] = []

    def add_partial(self, free: int, node: int, gpu: int) -> None:
        count = self.partial_count.get(free, 0)
        if count == 0:
            insort(self.partial_values, free)
        self.partial_count[free] = count + 1
        heapq.heappush(self.partial_heaps.setdefault(free, []), (node, gpu))

    def remove_partial(self, free: int) -> None:
        self.partial_count[free] -= 1
        if self.partial_count[free] == 0:
            self.partial_values.pop(bisect_left(self.partial_values, free))

    def move_full(self, node: int, old: int, new: int) -> None:
        self.full_count[old] -= 1
        self.full_count[new] += 1
        heapq.heappush(self.full_heaps[new], node)


class Capacity:
    """Free capacity of every GPU of a cluster, with per-type indexes for best-fit and first-fit lookups."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.nodes = list(nodes)
        self.free: list[list[int]] = [[MILLI_PER_GPU] * n.gpus for n in self.nodes]
        self.full_free: list[int] = [n.gpus for n in self.nodes]
        max_gpus: dict[str, int] = {}
        for node in self.nodes:
            max_gpus[node.gpu_type] = max(max_gpus.get(node.gpu_type, 0), node.gpus)
        self.pools = {gpu_type: _TypePool(order, most) for order, (gpu_type, most) in enumerate(max_gpus.items())}
        for index, node in enumerate(self.nodes):
            pool = self.pools[node.gpu_type]
            pool.full_count[node.gpus] += 1
            heapq.heappush(pool.full_heaps[node.gpus], index)
        self.total_milli = sum(n.gpus for n in self.nodes) * MILLI_PER_GPU
        self.allocated_milli = 0
        self.held: dict[tuple[int, int], int] = {}
        """(node, GPU) -> free milli-GPUs held for a reservation: hidden from `find`, not counted as allocated."""

    def types_for(self, gpu_type: str | None) -> list[str]:
        """The pool names a job of `gpu_type` may use (all of them for None)."""
        if gpu_type is None:
            return list(self.pools)
        return [gpu_type] if gpu_type in self.pools else []

    def largest_node(self, types: Iterable[str]) -> int:
        """The most GPUs any node of these types has (0 if none)."""
        return max((self.pools[t].max_gpus for t in types), default=0)

    def find(self, demand_milli: int, types: Iterable[str], policy: PlacementPolicy) -> Slots | None:
        """Where a job of `demand_milli` would start now under `policy`, or None if it fits nowhere."""
        whole = 0 if demand_milli < MILLI_PER_GPU else demand_milli // MILLI_PER_GPU
        best: tuple[tuple[int, ...], Slots] | None = None
        for gpu_type in types:
            pool = self.pools[gpu_type]
            found = self._find_whole(pool, whole, policy) if whole else self._find_share(pool, demand_milli, policy)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
        return None if best is None else best[1]

    def take(self, slots: Slots) -> None:
        """Mark `slots` as used (none of its GPUs may be held)."""
        for gpu in slots.gpus:
            if (slots.node, gpu) in self.held:
                raise RoutingError(f"GPU {gpu} of {self.nodes[slots.node].node_id} is held for a reservation")
            if self.free[slots.node][gpu] < slots.milli:
                raise RoutingError(f"GPU {gpu} of {self.nodes[slots.node].node_id} has no room for {slots.milli}")
            self._set_free(slots.node, gpu, self.free[slots.node][gpu] - slots.milli)
        self.allocated_milli += slots.milli * len(slots.gpus)

    def give_back(self, slots: Slots) -> None:
        """Mark `slots` as free again (room freed on a held GPU stays held)."""
        for gpu in slots.gpus:
            key = (slots.node, gpu)
            if key in self.held:
                self.held[key] += slots.milli
            else:
                self._set_free(slots.node, gpu, self.free[slots.node][gpu] + slots.milli)
        self.allocated_milli -= slots.milli * len(slots.gpus)

    def hold(self, node: int, gpu: int) -> None:
        """Hide a GPU's free room (and any room freed on it later) from placements until `unhold`."""
        if (node, gpu) not in self.held:
            self.held[(node, gpu)] = self.free[node][gpu]
            self._set_free(node, gpu, 0)

    def unhold(self, node: int, gpu: int) -> None:
        """Make a held GPU's room placeable again."""
        self._set_free(node, gpu, self.held.pop((node, gpu)))

    def room(self, node: int, gpu: int) -> int:
        """Free milli-GPUs of a GPU, held or not."""
        return self.free[node][gpu] + self.held.get((node, gpu), 0)

    def _find_whole(self, pool: _TypePool, whole: int, policy: PlacementPolicy) -> tuple[tuple[int, ...], Slots] | None:
        best: tuple[tuple[int, ...], int] | None = None
        for count in range(whole, pool.max_gpus + 1):
            if pool.full_count[count]:
                node = self._peek_full(pool, count)
                key = (count - whole, pool.order, node) if policy is PlacementPolicy.BEST_FIT else (node,)
                if best is None or key < best[0]:
                    best = (key, node)
                if policy is PlacementPolicy.BEST_FIT:
                    break
        if best is None:
            return None
        key, node = best
        gpus = tuple(g for g, free in enumerate(self.free[node]) if free == MILLI_PER_GPU)[:whole]
        return key, Slots(node, gpus, MILLI_PER_GPU)

    def _find_share(self, pool: _TypePool, milli: int, policy: PlacementPolicy) -> tuple[tuple[int, ...], Slots] | None:
        start = bisect_left(pool.partial_values, milli)
        if policy is PlacementPolicy.BEST_FIT:
            if start < len(pool.partial_values):
                free = pool.partial_values[start]
                node, gpu = self._peek_partial(pool, free)
                return (0, free - milli, pool.order, node), Slots(node, (gpu,), milli)
            found = self._find_whole(pool, 1, policy)
            if found is None:
                return None
            key, slots = found
            return (1, *key), Slots(slots.node, slots.gpus, milli)
        nodes = [self._peek_partial(pool, free)[0] for free in pool.partial_values[start:]]
        nodes += [self._peek_full(pool, c) for c in range(1, pool.max_gpus + 1) if pool.full_count[c]]
        if not nodes:
            return None
        node = min(nodes)
        gpu = next(g for g, free in enumerate(self.free[node]) if free >= milli)
        return (node,), Slots(node, (gpu,), milli)

    def _peek_full(self, pool: _TypePool, count: int) -> int:
        heap = pool.full_heaps[count]
        while self.full_free[heap[0]] != count:
            heapq.heappop(heap)
        return heap[0]

    def _peek_partial(self, pool: _TypePool, free: int) -> tuple[int, int]:
        heap = pool.partial_heaps[free]
        while self.free[heap[0][0]][heap[0][1]] != free:
            heapq.heappop(heap)
        return heap[0]

    def _set_free(self, node: int, gpu: int, new: int) -> None:
        old = self.free[node][gpu]
        if old == new:
            return
        pool = self.pools[self.nodes[node].gpu_type]
        self.free[node][gpu] = new
        if 0 < old < MILLI_PER_GPU:
            pool.remove_partial(old)
        if 0 < new < MILLI_PER_GPU:
            pool.add_partial(new, node, gpu)
        full_delta = (new == MILLI_PER_GPU) - (old == MILLI_PER_GPU)
        if full_delta:
            before = self.full_free[node]
            self.full_free[node] = before + full_delta
            pool.move_full(node, before, before + full_delta)
