"""Cutting an ordered run of buildings into groups of bounded households.

When buildings are ordered along a path that keeps neighbours next to each other
(a serpentine walk over the blocks), any consecutive run is contiguous on the
ground, so grid-making reduces to choosing cut points: an exact dynamic
programme over the run, with bounds as hard as the input allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["SplitResult", "split_sequence"]

# A group outside the bounds costs this much per household of excess, so the
# programme only breaks a bound when no arrangement can keep it.
_VIOLATION_COST = 1000.0


@dataclass(frozen=True)
class SplitResult:
    """`starts[k]` is the index of the first item of group k; groups cover all items in order."""

    starts: list[int]
    sums: list[int]
    violations: int  # groups outside the bounds (0 when the bounds could be met)

    def groups(self, n: int) -> list[range]:
        ends = self.starts[1:] + [n]
        return [range(s, e) for s, e in zip(self.starts, ends, strict=True)]


def split_sequence(
    weights: Sequence[int],
    lo: int,
    hi: int,
    target: float | None = None,
    cut_cost: Sequence[float] | None = None,
    single_item_exempt: bool = False,
) -> SplitResult:
    """Cut `weights` into consecutive groups with sums in [lo, hi].

    Minimises: squared relative deviation from `target` per group, plus
    `cut_cost[i]` for a cut just before item i (e.g. cheap at block edges,
    dearer inside a block), plus a large cost per household outside the bounds.
    With `single_item_exempt`, a group of one item may exceed `hi` freely (one
    large building is its own micro-grid).
    """
    w = np.asarray(weights, dtype=np.int64)
    n = len(w)
    if n == 0:
        return SplitResult([], [], 0)
    target = float(target if target is not None else (lo + hi) / 2.0)
    cuts = np.zeros(n) if cut_cost is None else np.asarray(cut_cost, dtype=float)
    prefix = np.concatenate([[0], np.cumsum(w)])
    # A group longer than this cannot be within bounds and never helps.
    reach = 2 * hi + int(w.max())

    best = np.full(n + 1, np.inf)
    back = np.zeros(n + 1, dtype=np.int64)
    best[0] = 0.0
    for end in range(1, n + 1):
        start = end - 1
        while start >= 0:
            total = int(prefix[end] - prefix[start])
            if total > reach and start < end - 1:
                break
            if best[start] < np.inf:
                cost = best[start] + ((total - target) / target) ** 2 + (cuts[start] if start > 0 else 0.0)
                exempt = single_item_exempt and end - start == 1 and total > hi
                if not exempt:
                    if total < lo:
                        cost += _VIOLATION_COST * (lo - total)
                    elif total > hi:
                        cost += _VIOLATION_COST * (total - hi)
                if cost < best[end]:
                    best[end] = cost
                    back[end] = start
            start -= 1

    starts: list[int] = []
    end = n
    while end > 0:
        starts.append(int(back[end]))
        end = int(back[end])
    starts.reverse()
    sums = [int(prefix[e] - prefix[s]) for s, e in zip(starts, starts[1:] + [n], strict=True)]
    violations = sum(
        1
        for s, e, total in zip(starts, starts[1:] + [n], sums, strict=True)
        if not (lo <= total <= hi) and not (single_item_exempt and e - s == 1 and total > hi)
    )
    return SplitResult(starts, sums, violations)
