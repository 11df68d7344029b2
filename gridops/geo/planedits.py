"""A planner's edits of a plan, by hand: every edit relabels whole buildings, so a boundary
always follows buildings and never leaves one split or a gap behind.

`move` buildings to a neighbouring grid, `split` a grid (cut within the bounds when a
cut exists, else into even household shares along its long axis), `merge` grids (the
first keeps its code), or `redraw` a boundary (the buildings whose entrance lies in the
drawn polygon join the grid). Plain values in, plain values out: the caller stores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from shapely.geometry import shape as geojson_shape

from gridops.geo.districting import Bounds, grid_count, partition
from gridops.geo.errors import GeoError
from gridops.geo.plan import Ground

EDIT_OPS = ("move", "split", "merge", "redraw")


class EditRefused(GeoError):
    """An edit that names what is not in the plan, or is malformed; `field` names the part."""

    slug = "invalid-parameter"

    def __init__(self, field: str, message: str, params: Mapping[str, object] | None = None) -> None:
        super().__init__(message, params, field=field)


def fresh_code(prefix: str, taken: set[str], digits: int = 3) -> str:
    """The next free code under `prefix` (one more than the highest in use)."""
    numbers = [int(c[len(prefix):]) for c in taken if c.startswith(prefix) and c[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:0{digits}d}"


def apply_edit(ground: Ground, grid_of: Mapping[str, str], edit: Mapping[str, Any], *, bounds: Bounds, prefix: str,
               taken: set[str], digits: int = 3) -> dict[str, str]:
    """The assignment (building code -> grid code) after one edit.

    `taken`: grid codes not to hand out again (the draft's and those in force); `prefix`
    the community code new grids extend by `digits` characters.
    """
    out = dict(grid_of)
    grids: dict[str, list[str]] = {}  # grid code -> its buildings
    for building, grid in out.items():
        grids.setdefault(grid, []).append(building)
    op = edit.get("op")
    if op == "move":
        codes = list(edit.get("buildings") or [])
        target = edit.get("to")
        unknown = [c for c in codes if c not in out]
        if not codes or unknown:
            if unknown:
                raise EditRefused("buildings", "name the buildings to move; unknown: %(unknown)s.", {"unknown": ", ".join(unknown[:5])})
            raise EditRefused("buildings", "name the buildings to move.")
        if target not in grids:
            raise EditRefused("to", "no grid %(target)r in this draft; grids are %(grids)s….",
                              {"target": target, "grids": ", ".join(sorted(grids)[:8])})
        for c in codes:
            out[c] = str(target)
    elif op == "split":
        code = edit.get("grid")
        if code not in grids:
            raise EditRefused("grid", "no grid %(code)r in this draft.", {"code": code})
        units = np.asarray([ground.position[u] for u in grids[str(code)]], dtype=np.int64)
        households = int(ground.graph.households[units].sum())
        k, _ = grid_count(households, bounds)
        k = max(int(edit.get("parts") or max(k, 2)), 2)
        if len(units) < k:
            raise EditRefused("parts", "grid %(code)s has %(n)s building(s); it cannot make %(k)s grids.",
                              {"code": code, "n": len(units), "k": k})
        pieces, _ = partition(ground.graph, units, Bounds(households // (k + 1), households))
        if len(pieces) < 2:
            pieces = halves(ground, units, k)
        fresh_taken = set(taken) | set(grids)
        for piece in sorted(pieces, key=lambda p: -int(ground.graph.households[p].sum()))[1:]:
            fresh = fresh_code(prefix, fresh_taken, digits)
            fresh_taken.add(fresh)
            for u in piece.tolist():
                out[ground.codes[u]] = fresh
    elif op == "merge":
        pair = [str(g) for g in edit.get("grids") or []]
        if len(pair) < 2 or any(c not in grids for c in pair):
            raise EditRefused("grids", "name two or more grids of this draft to merge; the first keeps its code.")
        for c, g in out.items():
            if g in pair[1:]:
                out[c] = pair[0]
    elif op == "redraw":
        code = edit.get("grid")
        if code not in grids:
            raise EditRefused("grid", "no grid %(code)r in this draft.", {"code": code})
        try:
            drawn = geojson_shape(edit.get("polygon") or {})
        except Exception:  # shapely raises several kinds on a malformed mapping
            raise EditRefused("polygon", "polygon must be a GeoJSON Polygon in lon/lat.") from None
        if drawn.geom_type not in ("Polygon", "MultiPolygon") or not drawn.is_valid or drawn.is_empty:
            raise EditRefused("polygon", "polygon must be a valid GeoJSON Polygon (closed ring, not self-crossing).")
        inside = [u for u in ground.units if drawn.contains(u.geometry.representative_point())]
        if not inside:
            raise EditRefused("polygon", "the drawn polygon holds no building's entrance; boundaries follow buildings.")
        for u in inside:
            out[u.code] = str(code)
    else:
        raise EditRefused("op", "op is one of %(ops)s; got %(op)r.", {"ops": ", ".join(EDIT_OPS), "op": op})
    return out


def halves(ground: Ground, units: npt.NDArray[np.int64], k: int) -> list[npt.NDArray[np.int64]]:
    """Even household shares along the grid's long axis, when no cut within bounds exists."""
    xy = ground.graph.xy[units]
    axis = int(np.ptp(xy[:, 1]) > np.ptp(xy[:, 0]))
    order = units[np.argsort(xy[:, axis])]
    cum = np.cumsum(ground.graph.households[order])
    cuts = [int(np.searchsorted(cum, cum[-1] * j / k)) + 1 for j in range(1, k)]
    return [p for p in np.split(order, cuts) if len(p)]
