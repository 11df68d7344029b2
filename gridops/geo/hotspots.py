"""Where hidden risks gather, and how each gathering moves: Getis-Ord Gi*, FDR, Mann-Kendall,
and the classes of emerging hot-spot analysis — on any set of areas with a neighbour list.

Plain numpy on arrays and index lists, so a page can afford it on every request
(thousands of cells, dozens of weeks in milliseconds). The figures equal PySAL's
(`esda.G_Local(star=True)` with binary weights; `scipy.stats.kendalltau` for the
trend) — the tests check that.

- `gi_star`: the z-score of each area's sum over itself and its neighbours
  against the whole study area (binary weights, the area itself included).
- `fdr_threshold` / `confidence_bins`: two-sided p-values and the usual 90/95/99%
  bins (±3, ±2, ±1, 0), each level corrected for the number of areas tested
  (Benjamini-Hochberg false-discovery rate).
- `emerging`: Gi* on the space-time cube (neighbours in space this week and last
  week), then the classes of ESRI's emerging hot-spot analysis per area: new,
  consecutive, intensifying, persistent, diminishing, sporadic, oscillating,
  historical (and the same for cold spots), from its run of significant weeks
  and the Mann-Kendall trend of its z-scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "gi_star", "p_values", "fdr_threshold", "confidence_bins", "mann_kendall", "emerging", "Emerging",
    "HOT_CLASSES", "CLASSES",
]

HOT_CLASSES = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic", "oscillating", "historical")
CLASSES = HOT_CLASSES + tuple(f"{c} cold" for c in HOT_CLASSES) + ("no pattern",)
_SQRT2 = math.sqrt(2.0)


def _neighbour_matrix(neighbours: Sequence[Sequence[int]], n: int) -> tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]:
    """Rows and columns of the binary weights, the area itself included (Gi*)."""
    rows = np.concatenate([np.full(len(nb) + 1, i) for i, nb in enumerate(neighbours)]) if n else np.zeros(0, int)
    cols = np.concatenate([np.asarray([i, *nb], dtype=int) for i, nb in enumerate(neighbours)]) if n else np.zeros(0, int)
    return rows, cols


def gi_star(values: npt.NDArray[np.float64], neighbours: Sequence[Sequence[int]]) -> npt.NDArray[np.float64]:
    """Getis-Ord Gi* z-scores (binary weights, self included). `neighbours[i]`: indices of i's neighbours."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 3:
        return np.zeros(n)
    rows, cols = _neighbour_matrix(neighbours, n)
    local = np.bincount(rows, weights=x[cols], minlength=n)
    w = np.bincount(rows, minlength=n).astype(float)  # Σ w_ij = Σ w_ij² for binary weights
    mean = x.mean()
    s = math.sqrt(max((x * x).mean() - mean * mean, 0.0))
    if s == 0.0:
        return np.zeros(n)
    den = s * np.sqrt(np.maximum(n * w - w * w, 0.0) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 0, (local - mean * w) / den, 0.0)
    return z


def p_values(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Two-sided p-values of standard normal z-scores."""
    z = np.abs(np.asarray(z, dtype=float))
    return np.array([math.erfc(v / _SQRT2) for v in z.ravel()]).reshape(z.shape)


def fdr_threshold(p: npt.NDArray[np.float64], alpha: float) -> float:
    """Benjamini-Hochberg: the largest p-value still significant at false-discovery rate `alpha` (0 if none)."""
    ps = np.sort(np.asarray(p, dtype=float).ravel())
    m = len(ps)
    if m == 0:
        return 0.0
    ok = ps <= alpha * np.arange(1, m + 1) / m
    return float(ps[np.nonzero(ok)[0].max()]) if ok.any() else 0.0


def confidence_bins(z: npt.NDArray[np.float64], fdr: bool = True) -> npt.NDArray[np.int_]:
    """+3/+2/+1 for hot spots at 99/95/90% confidence, the negatives for cold spots, 0 for neither."""
    z = np.asarray(z, dtype=float)
    p = p_values(z)
    bins = np.zeros(z.shape, dtype=int)
    for level, alpha in ((1, 0.10), (2, 0.05), (3, 0.01)):
        cut = fdr_threshold(p, alpha) if fdr else alpha
        sig = p <= cut if cut > 0 else np.zeros(z.shape, bool)
        bins = np.where(sig, level * np.sign(z).astype(int), bins)
    return bins


def mann_kendall(series: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Mann-Kendall trend test along the last axis: (z, two-sided p) per row, with the tie correction."""
    x = np.atleast_2d(np.asarray(series, dtype=float))
    t = x.shape[-1]
    if t < 3:
        return np.zeros(x.shape[0]), np.ones(x.shape[0])
    i, j = np.triu_indices(t, 1)
    s = np.sign(x[:, j] - x[:, i]).sum(axis=1)
    var = np.full(x.shape[0], t * (t - 1) * (2 * t + 5) / 18.0)
    for r in range(x.shape[0]):
        _, counts = np.unique(x[r], return_counts=True)
        ties = counts[counts > 1]
        if ties.size:
            var[r] -= float((ties * (ties - 1) * (2 * ties + 5)).sum()) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
    return z, p_values(z)


@dataclass(frozen=True)
class Emerging:
    """Per area: its class, the share of significant hot (cold) weeks, and the trend of its z-scores."""

    classes: list[str]
    z: npt.NDArray[np.float64]  # (areas, weeks): space-time Gi*
    significant: npt.NDArray[np.int_]  # (areas, weeks): +1 hot, -1 cold, 0 neither, at `alpha` with FDR
    trend_z: npt.NDArray[np.float64]
    trend_p: npt.NDArray[np.float64]


def emerging(counts: npt.NDArray[np.float64], neighbours: Sequence[Sequence[int]], alpha: float = 0.05, time_lag: int = 1) -> Emerging:
    """Emerging hot-spot analysis of `counts` (areas × weeks, oldest first)."""
    x = np.asarray(counts, dtype=float)
    n, weeks = x.shape
    z = _space_time_gi(x, neighbours, time_lag)
    p = p_values(z)
    cut = fdr_threshold(p, alpha)
    significant = np.where(p <= cut, np.sign(z), 0).astype(int) if cut > 0 else np.zeros(z.shape, int)
    trend_z, trend_p = mann_kendall(z)
    classes = [_classify(significant[i], trend_z[i], trend_p[i], alpha) for i in range(n)]
    return Emerging(classes, z, significant, trend_z, trend_p)


def _space_time_gi(x: npt.NDArray[np.float64], neighbours: Sequence[Sequence[int]], time_lag: int) -> npt.NDArray[np.float64]:
    """Gi* on the cube: area i in week t sums itself and its neighbours over weeks t-lag..t."""
    n, weeks = x.shape
    if n * weeks < 3:
        return np.zeros(x.shape)
    rows, cols = _neighbour_matrix(neighbours, n)
    spatial = np.zeros((n, weeks))
    np.add.at(spatial, rows, x[cols])  # per week: the sum over the spatial neighbourhood
    size = np.bincount(rows, minlength=n).astype(float)
    local = np.zeros((n, weeks))
    w = np.zeros((n, weeks))
    for lag in range(time_lag + 1):
        local[:, lag:] += spatial[:, : weeks - lag]
        w[:, lag:] += size[:, None]
    flat = x.ravel()
    m = flat.size
    mean = flat.mean()
    s = math.sqrt(max((flat * flat).mean() - mean * mean, 0.0))
    if s == 0.0:
        return np.zeros(x.shape)
    den = s * np.sqrt(np.maximum(m * w - w * w, 0.0) / (m - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, (local - mean * w) / den, 0.0)


def _classify(sig: npt.NDArray[np.int_], trend_z: float, trend_p: float, alpha: float) -> str:
    for sign, suffix in ((1, ""), (-1, " cold")):
        mine = sig == sign
        other = sig == -sign
        share = mine.mean()
        final = bool(mine[-1])
        up = trend_p <= alpha and sign * trend_z > 0
        down = trend_p <= alpha and sign * trend_z < 0
        if not mine.any():
            continue
        if final and mine.sum() == 1:
            return "new" + suffix
        run = len(mine) - (np.nonzero(~mine)[0].max() + 1 if (~mine).any() else 0)  # trailing run of significant weeks
        if final and run >= 2 and run == mine.sum() and share < 0.9:
            return "consecutive" + suffix
        if share >= 0.9 and final and up:
            return "intensifying" + suffix
        if share >= 0.9 and final and down:
            return "diminishing" + suffix
        if share >= 0.9 and final:
            return "persistent" + suffix
        if final and share < 0.9:
            return ("oscillating" if other.any() else "sporadic") + suffix
        if not final and share >= 0.9:
            return "historical" + suffix
    return "no pattern"
