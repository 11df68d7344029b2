"""geo.hotspots against the reference implementations: PySAL's esda for Gi*, scipy for Kendall's trend."""

from __future__ import annotations

import numpy as np
import pytest

from gridops.geo.hexes import cell_of, neighbours
from gridops.geo.hotspots import confidence_bins, emerging, fdr_threshold, gi_star, mann_kendall, p_values


def _grid(n: int) -> list[list[int]]:
    """Rook neighbours on an n×n lattice."""
    out = []
    for r in range(n):
        for c in range(n):
            out.append([(r + dr) * n + c + dc for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)) if 0 <= r + dr < n and 0 <= c + dc < n])
    return out


def test_gi_star_equals_pysal_esda_with_binary_weights():
    esda = pytest.importorskip("esda")
    from libpysal.weights import W

    rng = np.random.default_rng(3)
    nb = _grid(12)
    x = rng.poisson(3.0, size=len(nb)).astype(float)
    x[20:26] += 12  # a hot patch
    ours = gi_star(x, nb)
    w = W({i: list(v) for i, v in enumerate(nb)}, silence_warnings=True)
    ref = esda.G_Local(x, w, transform="B", star=True, permutations=0)
    assert np.allclose(ours, ref.Zs, atol=1e-9)
    assert ours[20:26].min() > 2  # the patch is hot


def test_gi_star_on_h3_cells_finds_the_cluster():
    centre = (104.10, 30.62)
    import h3

    ring = [int(h3.str_to_int(c)) for c in h3.grid_disk(h3.int_to_str(cell_of(*centre, 9)), 6)]
    nb = neighbours(ring)
    index = {c: k for k, c in enumerate(ring)}
    counts = np.ones(len(ring))
    hot = [index[c] for c in [ring[0], *nb[ring[0]]]]
    counts[hot] = 15
    z = gi_star(counts, [[index[n] for n in nb[c]] for c in ring])
    bins = confidence_bins(z)
    assert set(bins[hot]) == {3} and (bins[[k for k in range(len(ring)) if k not in hot]] <= 1).all()


def test_benjamini_hochberg_by_hand():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    assert fdr_threshold(p, 0.05) == 0.008  # 0.039 > 3*0.05/10
    assert fdr_threshold(p, 0.15) == 0.074  # 7th: 0.074 <= 7*0.015; 8th: 0.205 > 0.12
    assert fdr_threshold(p, 0.25) == 0.216  # all: 0.216 <= 0.25
    assert fdr_threshold(np.array([0.5, 0.9]), 0.05) == 0.0


def test_fdr_makes_fewer_spots_than_no_correction():
    rng = np.random.default_rng(0)
    z = rng.standard_normal(2000)  # pure noise: about 10% pass at 90% uncorrected
    assert (confidence_bins(z, fdr=False) != 0).mean() > 0.05
    assert (confidence_bins(z, fdr=True) != 0).mean() < 0.01


def test_mann_kendall_agrees_with_kendalls_tau_against_time():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    series = np.cumsum(rng.standard_normal((5, 12)), axis=1) + np.arange(12) * 0.3
    z, p = mann_kendall(series)
    for k in range(5):
        tau = scipy_stats.kendalltau(np.arange(12), series[k], method="asymptotic")
        assert p[k] == pytest.approx(tau.pvalue, rel=0.1, abs=0.02)  # MK's continuity correction is the only difference
        assert np.sign(z[k]) == np.sign(tau.statistic)
    assert p_values(np.array([1.959964]))[0] == pytest.approx(0.05, abs=1e-6)


def _classes_for(pattern: np.ndarray, weeks: int = 10) -> str:
    """Put a weekly pattern on one cell of a 9×9 lattice of quiet cells (with its neighbours), classify it."""
    nb = _grid(9)
    rng = np.random.default_rng(5)
    counts = rng.poisson(1.0, size=(81, weeks)).astype(float)
    centre = 40
    for k in [centre, *nb[centre]]:
        counts[k] = pattern
    return emerging(counts, nb).classes[centre]


def test_emerging_classes_follow_the_weeks():
    quiet, loud = 1.0, 12.0
    weeks = 10
    assert _classes_for(np.array([quiet] * (weeks - 1) + [loud * 2])) == "new"
    assert _classes_for(np.array([quiet] * (weeks - 3) + [loud] * 3)) == "consecutive"
    assert _classes_for(np.linspace(6, 30, weeks)) == "intensifying"
    assert _classes_for(np.full(weeks, loud)) == "persistent"
    assert _classes_for(np.linspace(30, 8, weeks)) == "diminishing"
    assert _classes_for(np.array([loud, quiet, quiet, loud, quiet, quiet, loud, quiet, quiet, loud * 2])) == "sporadic"
    # the space-time neighbourhood reaches back a week: two quiet weeks end a hot spot
    assert _classes_for(np.array([loud] * (weeks - 2) + [quiet] * 2)) == "historical"
    assert _classes_for(np.full(weeks, quiet)) == "no pattern"
