"""The command centre's map pages and the rendered map files: query in, HTML out.

The pages and `gridops render-maps` call the same functions; the drawing is
gridops.analytics.maps, the figures gridops.analytics.risk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.policy import ACT_ON_MAP, Principal
from gridops.analytics.live import boundaries
from gridops.analytics.maps import _esc, live_map, standalone
from gridops.analytics.risk import RESOLUTIONS, RiskQuery, parse_risk_args
from gridops.analytics.riskmap import risk_map
from gridops.analytics.spots import risk_document
from gridops.analytics.wording import N_, Translate, plain
from gridops.basemap.settings import page_config
from gridops.boundaries.areas import version_in_force
from gridops.core import clock
from gridops.core.db import Database
from gridops.core.errors import GridopsError, InvalidParameter
from gridops.core.models import Area, Category, CategoryGroup
from gridops.core.words import Say
from gridops.field.workers import worker_positions
from gridops.incidents.listing import incidents_geojson
from gridops.incidents.loop import OPEN
from gridops.incidents.names import STATUS_NAMES, STEP_NAMES, ZH, names

# the page's words used inside f-strings (where pybabel cannot see a call): marked here
PAGE_WORDS = {
    "title": N_("Hidden risks"),
    "spots": N_("Hot spots, strongest first"),
    "howto": N_("How to read this map"),
    "category": N_("Category"),
    "area": N_("Area"),
    "from": N_("From"),
    "to": N_("To (included)"),
    "res": N_("Cell size"),
    "update": N_("Update"),
}


def risk_page_html(db: Database, cfg: Mapping[str, Any], args: Mapping[str, str], *, t: Translate = plain, lang: str = "zh",
                   words: Mapping[str, str] | None = None, config: Mapping[str, Any] | None = None,
                   html_lang: str = "zh-CN") -> tuple[str, GridopsError | None]:
    """The risk page in the reader's language (`t`, `lang`); a bad parameter shows as a message over the same form,
    never a broken page (the error comes back beside the page, for the caller to answer with its status)."""
    problem: GridopsError | None = None
    with db.session() as session:
        options = _options(session, cfg["PRIMARY_LAYER"], t, lang)
        try:
            q = parse_risk_args(args, cfg["TIMEZONE"], cfg["PRIMARY_LAYER"])
            doc = risk_document(session, q, cfg["TIMEZONE"], t, lang)
        except GridopsError as err:
            problem, q, doc = err, None, None
    form = _risk_form(args, options, q, doc, t)
    if doc is None:
        assert problem is not None  # no document only when the query was refused
        body = (f'<!doctype html><html lang="{html_lang}"><head><meta charset="utf-8">'
                f'<title>{_esc(t(PAGE_WORDS["title"]))} · gridops</title>'
                f'<link rel="stylesheet" href="/static/maps.css"><link rel="stylesheet" href="/static/riskmap.css"></head>'
                f'<body><aside class="gridops-panel risk-panel"><h1>{_esc(t(PAGE_WORDS["title"]))}</h1>'
                f'<p class="problem" role="alert">{_esc(problem.message)}</p>{form}</aside></body></html>')
        return body, problem
    panels = _summary_panel(doc, options, t) + f'<aside class="gridops-panel risk-form-panel">{form}{_how_to_read(t)}</aside>'
    html = risk_map(doc, page_config(cfg), t=t, words=words or {}, config=config or {}, panels=panels).get_root().render()
    return html.replace("<html>", f'<html lang="{html_lang}">', 1), None


def _summary_panel(doc: dict[str, Any], options: dict[str, Any], t: Translate) -> str:
    q = doc["query"]
    area = options["area_names"].get(q["area"] or "", t(N_("The whole city")))
    line = t(N_("{category} · {area} · {since} to {until} (local time) · H3 resolution {res}")).format(
        category=q["category_name"], area=area, since=q["since_day"], until=q["until_day"], res=q["res"])
    totals = t(N_("{total} incidents · {spots} hot spots ({cells} hot cells) · {cold} cold cells")).format(
        total=f'<b id="risk-total">{doc["total"]:,}</b>', spots=f'<b id="risk-spots">{len(doc["hot_spots"])}</b>',
        cells=f'<b id="risk-hot">{doc["hot_spot_cells"]}</b>', cold=f'<b id="risk-cold">{doc["cold_spot_cells"]}</b>')
    return f"""
<aside class="gridops-panel risk-panel" id="risk-summary">
  <h1>{_esc(t(PAGE_WORDS["title"]))}</h1>
  <p class="risk-query">{_esc(line)}</p>
  <p class="risk-totals">{totals}</p>
  <h2>{_esc(t(PAGE_WORDS["spots"]))}</h2>
  <ol id="hot-spots" class="hot-spots"></ol>
</aside>"""


def _how_to_read(t: Translate) -> str:
    paras = [
        N_("Each hexagon is an H3 cell. The colours show one measure at a time; choose another in the layer list at the "
           "top right, and its legend follows."),
        N_("Gi* (Getis-Ord) compares the incidents in a cell and its six neighbours with the whole area: a hot spot is a "
           "place where they gather more than chance would give, at a confidence of 90%, 95%, 99%."),
        N_("FDR (false discovery rate): with hundreds of cells tested at once some would look hot by chance; the "
           "Benjamini-Hochberg correction raises the bar so that few of the spots shown are such accidents."),
        N_("Mann-Kendall: a test of whether a cell's weekly Gi* scores rise or fall steadily; it decides whether a hot "
           "spot is intensifying, persistent or diminishing (new: hot only in the last week; sporadic: on and off)."),
        N_("Rates are incidents per 1,000 households, counted from the households of the buildings in the cell or grid."),
    ]
    body = "".join(f"<p>{_esc(t(p))}</p>" for p in paras)
    return f'<details id="risk-howto"><summary>{_esc(t(PAGE_WORDS["howto"]))}</summary>{body}</details>'


def _risk_form(args: Mapping[str, str], options: dict[str, Any], q: RiskQuery | None, doc: dict[str, Any] | None,
               t: Translate) -> str:
    since = doc["query"]["since_day"] if doc else args.get("since", "")
    until = doc["query"]["until_day"] if doc else args.get("until", "")
    cat = args.get("category", "")
    area = args.get("area", "")
    cats = "".join(f'<option value="{_esc(v)}"{" selected" if v == cat else ""}>{_esc(label)}</option>'
                   for v, label in [("", t(N_("All categories"))), *options["categories"]])
    areas = "".join(f'<option value="{_esc(v)}"{" selected" if v == area else ""}>{_esc(label)}</option>'
                    for v, label in [("", t(N_("The whole city"))), *options["areas"]])
    res = str(q.res) if q else args.get("res", "10")
    resolutions = "".join(f'<option value="{r}"{" selected" if str(r) == res else ""}>{_esc(t(RES_NAMES[r]))}</option>'
                          for r in RESOLUTIONS)
    return f"""<form method="get" action="/maps/risk" id="risk-form">
<label>{_esc(t(PAGE_WORDS["category"]))}<select name="category">{cats}</select></label>
<label>{_esc(t(PAGE_WORDS["area"]))}<select name="area">{areas}</select></label>
<label>{_esc(t(PAGE_WORDS["from"]))}<input type="date" name="since" value="{_esc(since)}"></label>
<label>{_esc(t(PAGE_WORDS["to"]))}<input type="date" name="until" value="{_esc(until)}"></label>
<label>{_esc(t(PAGE_WORDS["res"]))}<select name="res">{resolutions}</select></label>
<button type="submit">{_esc(t(PAGE_WORDS["update"]))}</button></form>"""


RES_NAMES = {7: N_("about 5 km²"), 8: N_("about 0.7 km²"), 9: N_("about 0.1 km²"), 10: N_("about 15,000 m²")}


def _options(session: Session, layer: str, t: Translate, lang: str) -> dict[str, Any]:
    cats = session.execute(select(Category.code, Category.name, Category.name_en, Category.group_code)
                           .order_by(Category.group_code, Category.code)).all()
    groups = {c: (n_en or n) if lang == "en" else n for c, n, n_en in session.execute(
        select(CategoryGroup.code, CategoryGroup.name, CategoryGroup.name_en).order_by(CategoryGroup.position))}
    version = version_in_force(session, layer)
    areas: list[tuple[str, str]] = []
    if version is not None:
        areas = [(c, n) for c, n in session.execute(
            select(Area.code, Area.name).where(Area.version_id == version.id, Area.level.in_(["street", "community"]))
            .order_by(Area.code))]
    options: list[tuple[str, str]] = []
    for g, gname in groups.items():
        options.append((g, t(N_("{name} (all)")).format(name=gname)))
        options += [(c, "\u3000" + ((n_en or n) if lang == "en" else n)) for c, n, n_en, gc in cats if gc == g]
    options += [(c, (n_en or n) if lang == "en" else n) for c, n, n_en, gc in cats if gc not in groups]
    return {"categories": options, "areas": areas, "area_names": dict(areas)}


# --- the live map ----------------------------------------------------------------------


def live_page_html(db: Database, cfg: Mapping[str, Any], who: Principal | None, snapshot: dict[str, Any] | None = None,
                   lang: str = ZH) -> str:
    """The live map, its statuses named in `lang` (en, else Chinese). With `snapshot` (incidents and workers as of
    now), a file that needs no server."""
    with db.session() as session:
        bounds = boundaries(session, cfg["PRIMARY_LAYER"])
        categories = [{"code": c, "name": n, "group": g} for c, n, g in session.execute(
            select(Category.code, Category.name, Category.group_code).order_by(Category.code))]
    config = {"pageHeader": "gridops", "timezone": cfg["TIMEZONE"], "categories": categories,
              "open": list(OPEN),  # the loop's own lists and names (gridops.incidents.loop, gridops.incidents.names)
              "statusNames": names(STATUS_NAMES, lang), "stepNames": names(STEP_NAMES, lang),
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
                    raise InvalidParameter("map", Say("map %(name)r: the query was refused: %(message)s",
                                                      name=name, message=refused.message))
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
