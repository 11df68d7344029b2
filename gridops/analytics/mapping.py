"""The command centre's map pages and the rendered map files: query in, HTML out.

The pages and `gridops render-maps` call the same functions; the drawing is
gridops.analytics.maps, the figures gridops.analytics.risk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.geojson import geometry_to_geojson

from gridops.access.policy import ACT_ON_MAP, Principal
from gridops.analytics.maps import _esc, live_map, risk_map, standalone
from gridops.analytics.risk import RESOLUTIONS, RiskQuery, risk
from gridops.basemap.settings import page_config
from gridops.boundaries.areas import version_in_force
from gridops.core import clock
from gridops.core.db import Database
from gridops.core.errors import GridopsError, InvalidParameter, NotFound
from gridops.core.models import Area, Assignment, Category, Layer, Worker
from gridops.core.timeparse import parse_optional_time
from gridops.field.workers import worker_positions
from gridops.incidents.listing import incidents_geojson
from gridops.incidents.loop import OPEN, STATUS_NAMES

DEFAULT_WEEKS = 8


def parse_risk_args(args: Mapping[str, str], tz: str, layer: str, now: datetime | None = None) -> RiskQuery:
    """A risk query from a page's (or the CLI's) parameters; bad values name their field."""
    now = now or clock.now()
    until = parse_optional_time(args.get("until"), tz, "until") or now
    since = parse_optional_time(args.get("since"), tz, "since") or until - timedelta(weeks=DEFAULT_WEEKS)
    raw_res = (args.get("res") or "10").strip()
    if not raw_res.isdigit() or int(raw_res) not in RESOLUTIONS:
        raise InvalidParameter("res", f"`res` is an H3 resolution, one of {', '.join(map(str, RESOLUTIONS))}; got {raw_res!r}.")
    raw_days = (args.get("recent_days") or "14").strip()
    if not raw_days.isdigit() or not 1 <= int(raw_days) <= 90:
        raise InvalidParameter("recent_days", f"`recent_days` (the heat layer's window) is 1 to 90 days; got {raw_days!r}.")
    return RiskQuery(category=(args.get("category") or "").strip() or None, area=(args.get("area") or "").strip() or None,
                     since=since, until=until, res=int(raw_res), recent_days=int(raw_days), layer=layer)


def risk_page_html(db: Database, cfg: Mapping[str, Any], args: Mapping[str, str]) -> tuple[str, GridopsError | None]:
    """The risk page; a bad parameter shows as a message over the same form, never a broken page
    (the error comes back beside the page, for the caller to answer with its status)."""
    problem: GridopsError | None = None
    with db.session() as session:
        options = _options(session, cfg["PRIMARY_LAYER"])
        try:
            q = parse_risk_args(args, cfg["TIMEZONE"], cfg["PRIMARY_LAYER"])
            data = risk(session, q, cfg["TIMEZONE"])
        except GridopsError as err:
            problem, q, data = err, None, None
    form = _risk_form(args, options, cfg["TIMEZONE"], q)
    if data is None:
        assert problem is not None  # no data only when risk() refused the query
        body = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Hidden risks · gridops</title>'
                f'<link rel="stylesheet" href="/static/maps.css"></head><body><aside class="gridops-panel">'
                f'<h1>隐患风险 Hidden risks</h1><p class="problem" role="alert">{_esc(problem.message)}</p>{form}</aside></body></html>')
        return body, problem
    return risk_map(data, page_config(cfg), form_html=_form_panel(form)).get_root().render(), None


def _form_panel(form: str) -> str:
    return f'<aside class="gridops-panel" style="top:auto;bottom:.6rem;left:auto;right:.6rem">{form}</aside>'


def _risk_form(args: Mapping[str, str], options: dict[str, Any], tz: str, q: RiskQuery | None) -> str:
    zone = ZoneInfo(tz)

    def day(t: datetime | None, name: str) -> str:
        return _esc(t.astimezone(zone).date().isoformat()) if t else _esc(args.get(name, ""))

    cat = args.get("category", "")
    area = args.get("area", "")
    cats = "".join(f'<option value="{_esc(v)}"{" selected" if v == cat else ""}>{_esc(label)}</option>'
                   for v, label in [("", "全部 all categories"), *options["categories"]])
    areas = "".join(f'<option value="{_esc(v)}"{" selected" if v == area else ""}>{_esc(label)}</option>'
                    for v, label in [("", "全区 the whole layer"), *options["areas"]])
    res = str(q.res) if q else args.get("res", "10")
    resolutions = "".join(f'<option{" selected" if str(r) == res else ""}>{r}</option>' for r in RESOLUTIONS)
    return f"""<form method="get" action="/maps/risk" id="risk-form">
<label>类别 Category<select name="category">{cats}</select></label>
<label>区域 Area<select name="area">{areas}</select></label>
<label>从 From<input type="date" name="since" value="{day(q.since if q else None, 'since')}"></label>
<label>到 To<input type="date" name="until" value="{day(q.until if q else None, 'until')}"></label>
<label>H3<select name="res">{resolutions}</select></label>
<button type="submit">更新 Update</button></form>"""


def _options(session: Session, layer: str) -> dict[str, Any]:
    cats = session.execute(select(Category.code, Category.name, Category.group_code).order_by(Category.group_code, Category.code)).all()
    groups = sorted({g for _, _, g in cats if g})
    version = version_in_force(session, layer)
    areas = []
    if version is not None:
        areas = [(c, f"{n} ({lv})") for c, n, lv in session.execute(
            select(Area.code, Area.name, Area.level).where(Area.version_id == version.id, Area.level.in_(["street", "community"]))
            .order_by(Area.code))]
    return {"categories": [(g, f"{g} (group)") for g in groups] + [(c, f"{n} · {c}") for c, n, _ in cats], "areas": areas}


# --- the live map ----------------------------------------------------------------------


def boundaries(session: Session, layer: str) -> dict[str, Any]:
    """Grids (with their worker) and micro-grids of the version in force, simplified for drawing."""
    version = version_in_force(session, layer)
    if version is None:
        raise NotFound(f"layer {layer!r} has no published boundaries yet.")
    layer_id = session.scalar(select(Layer.id).where(Layer.code == layer))
    workers: dict[str, list[str]] = {}
    for code, name, _ in session.execute(
        select(Assignment.area_code, Worker.name, Assignment.duty).join(Worker, Worker.id == Assignment.worker_id)
        .where(Assignment.layer_id == layer_id, Assignment.valid_to.is_(None), Assignment.duty == "primary")
    ):
        workers.setdefault(code, []).append(name)
    rows = session.execute(select(Area.code, Area.name, Area.level, Area.households, Area.geom)
                           .where(Area.version_id == version.id, Area.level.in_(["grid", "micro_grid"]))).all()
    grids: list[dict[str, Any]] = []
    micro: list[dict[str, Any]] = []
    for code, name, level, hh, geom in rows:
        shape = shapely.simplify(to_shape(geom), 0.000005)
        feature = {"type": "Feature", "geometry": geometry_to_geojson(shape, 6),
                   "properties": {"code": code, "name": name, "households": hh, "worker": "、".join(workers.get(code, [])) or None}}
        (grids if level == "grid" else micro).append(feature)
    tops = [to_shape(g) for g in session.scalars(select(Area.geom).where(Area.version_id == version.id, Area.parent_id.is_(None)))]
    return {"version": version.number, "outline": geometry_to_geojson(shapely.union_all(tops), 6),
            "grids": {"type": "FeatureCollection", "features": grids},
            "micro_grids": {"type": "FeatureCollection", "features": micro}}


def live_page_html(db: Database, cfg: Mapping[str, Any], who: Principal | None, snapshot: dict[str, Any] | None = None) -> str:
    """The live map. With `snapshot` (incidents and workers as of now), a file that needs no server."""
    with db.session() as session:
        bounds = boundaries(session, cfg["PRIMARY_LAYER"])
        categories = [{"code": c, "name": n, "group": g} for c, n, g in session.execute(
            select(Category.code, Category.name, Category.group_code).order_by(Category.code))]
    config = {"pageHeader": "gridops", "timezone": cfg["TIMEZONE"], "categories": categories,
              "open": list(OPEN), "statusNames": STATUS_NAMES,  # the loop's own lists (gridops.incidents.loop)
              "mayAct": bool(who and who.can(ACT_ON_MAP)),
              "role": who.role if who else None, "snapshot": snapshot}
    return live_map(bounds, page_config(cfg), config).get_root().render()


# --- files for reports -----------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    path: Path
    bytes: int


def render_maps(db: Database, cfg: Mapping[str, Any], out_dir: Path, queries: Iterable[tuple[str, dict[str, str]]],
                progress: Callable[[Iterable[Any], str], Any] | None = None) -> list[Rendered]:
    """Each (name, parameters) as a standalone risk map file, and the live map as of now, into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = list(queries) + [("live", None)]
    written = []
    items = progress(jobs, "rendering") if progress else _plain(jobs)
    with items as bar:
        for name, params in bar:
            if params is None:
                with db.session() as session:
                    snapshot = {"at": clock.now().isoformat(),
                                "incidents": incidents_geojson(session, None, {"status": "open"}, limit=50_000),
                                "workers": worker_positions(session, None, cfg["TIMEZONE"])}
                html = live_page_html(db, cfg, None, snapshot=snapshot)
            else:
                html, refused = risk_page_html(db, cfg, params)
                if refused is not None:
                    raise InvalidParameter("map", f"map {name!r}: the query was refused: {refused.message}")
            path = out_dir / f"{name}.html"
            path.write_text(standalone(html), encoding="utf-8")
            written.append(Rendered(path, path.stat().st_size))
    return written


class _plain:
    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items

    def __enter__(self) -> Iterable[Any]:
        return self.items

    def __exit__(self, *exc: object) -> Literal[False]:
        return False


def category_groups(session: Session) -> list[str]:
    """The category groups (hazard, dispute, …): one risk map file each."""
    return sorted({g for g in session.scalars(select(Category.group_code)) if g})
