"""The measures as people read them: the columns' titles, the levels' and teams' names (catalogue words, Chinese
first), and the two files a clerk opens in Excel or WPS — an XLSX with a sheet per level and per team, and a CSV
with a UTF-8 byte-order mark (without it Excel reads the Chinese names as mojibake). The dashboard page, the big
screen and /api/v1/stats use the same words, so a header says the same thing everywhere."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale, gettext

from gridops.core.errors import NotFound
from gridops.core.spreadsheet import Export, cell
from gridops.web.i18n import N_

BOM = "\ufeff"

LEVEL_NAMES = {"district": N_("District"), "street": N_("Street"), "community": N_("Community"), "grid": N_("Grid")}
TEAM_NAMES = {"grid": N_("Grid workers"), "staff": N_("Department and other staff")}
ROLE_NAMES = {"grid_worker": N_("Grid worker"), "grid_leader": N_("Grid leader"), "community_staff": N_("Community staff"),
              "department_staff": N_("Department staff"), "supervisor": N_("Supervisor")}
FLAG_NAMES = {"green": N_("good"), "amber": N_("watch"), "red": N_("act")}


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # N_() English; gettext() where shown
    kind: str = "int"  # int, rate (0–1, shown as %), hours, text
    trend: bool = False  # the change against the previous period is shown beside it


# the columns of an area's row, in the order the dashboard and the exports show them
AREA_COLUMNS = (
    Column("households", N_("Households")),
    Column("reported", N_("Incidents reported"), trend=True),
    Column("proactive", N_("Found on patrol")),
    Column("proactive_rate", N_("Proactive discovery rate"), "rate", trend=True),
    Column("closed", N_("Incidents closed"), trend=True),
    Column("closure_rate", N_("Closure rate"), "rate", trend=True),
    Column("due", N_("Due")),
    Column("closed_on_time", N_("Closed on time")),
    Column("on_time_rate", N_("On-time closure rate"), "rate", trend=True),
    Column("in_grid_rate", N_("In-grid resolution rate"), "rate", trend=True),
    Column("median_hours", N_("Median hours to close"), "hours", trend=True),
    Column("p90_hours", N_("90th percentile hours to close"), "hours"),
    Column("overdue", N_("Overdue"), trend=True),
    Column("resolved", N_("Incidents resolved")),
    Column("rework", N_("Rework")),
    Column("rework_rate", N_("Rework rate"), "rate", trend=True),
    Column("rated", N_("Rated")),
    Column("satisfaction", N_("Satisfaction rate"), "rate", trend=True),
    Column("visits", N_("Visits"), trend=True),
    Column("visits_away", N_("Visits away from the door")),
)
# the dashboard's table shows these (the exports all of AREA_COLUMNS)
TABLE_KEYS = ("reported", "proactive_rate", "closure_rate", "on_time_rate", "in_grid_rate", "median_hours", "overdue",
              "rework_rate", "satisfaction", "visits")
WORKER_COLUMNS = (
    Column("closed", N_("Incidents closed"), trend=True),
    Column("closed_on_time", N_("Closed on time"), trend=True),
    Column("on_time_rate", N_("On-time closure rate"), "rate", trend=True),
    Column("satisfaction", N_("Satisfaction rate"), "rate", trend=True),
)
CODE = N_("Code")
NAME = N_("Name")
RANK = N_("Rank")
ROLE = N_("Role")
WORKER = N_("Worker")
STAFF_CODE = N_("Staff number")

_FILLS = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}  # Excel's own good / neutral / bad fills


@contextmanager
def unknown_area_said() -> Iterator[None]:
    """An area code no area has (gridops.analytics.stats.area_named) said in the reader's language."""
    try:
        yield
    except NotFound as err:
        code = err.details.get("area")
        if code is None:
            raise
        raise NotFound(gettext("No area has the code %(code)s in the boundaries in force: check the code, or choose the "
                               "area from the list.", code=code), area=code) from None


def english() -> bool:
    return str(get_locale()) == "en"


def category_name(categories: Mapping[str, Mapping[str, str]], code: str) -> str:
    c = categories.get(code)
    if not c:
        return code
    return c["name_en"] if english() else c["name"]


def level_name(level: str) -> str:
    return gettext(LEVEL_NAMES[level]) if level in LEVEL_NAMES else level


def _area_table(result: Mapping[str, Any]) -> tuple[list[str], list[list[Any]], list[Column | None]]:
    cats = list(result.get("categories") or {})
    header = [level_name(result["level"]), gettext(CODE)] + [gettext(c.title) for c in AREA_COLUMNS] + \
        [category_name(result["categories"], c) for c in cats]
    kinds: list[Column | None] = [None, None, *AREA_COLUMNS, *([None] * len(cats))]
    rows = [[r["name"] or r["code"], r["code"]] + [r.get(c.key) for c in AREA_COLUMNS] +
            [r["by_category"].get(c, 0) for c in cats] for r in result["rows"]]
    return header, rows, kinds


def _worker_table(workers: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[Any]], list[Column | None]]:
    header = [gettext(RANK), gettext(WORKER), gettext(STAFF_CODE), gettext(ROLE)] + [gettext(c.title) for c in WORKER_COLUMNS]
    kinds: list[Column | None] = [None, None, None, None, *WORKER_COLUMNS]
    rows = [[k + 1, w["name"], w["code"], gettext(ROLE_NAMES[w["role"]]) if w["role"] in ROLE_NAMES else w["role"]] +
            [w.get(c.key) for c in WORKER_COLUMNS] for k, w in enumerate(workers)]
    return header, rows, kinds


def team(workers: Sequence[Mapping[str, Any]], which: str) -> list[Mapping[str, Any]]:
    return [w for w in workers if w.get("team") == which]


def as_csv(result: Mapping[str, Any]) -> bytes:
    """One level's rows as CSV, headed in the reader's language, with the BOM Excel needs to read UTF-8."""
    header, rows, _ = _area_table(result)
    out = io.StringIO()
    w = csv.writer(out, dialect=Export)
    w.writerow(header)
    for row in rows:
        w.writerow([cell(v) for v in row])
    return (BOM + out.getvalue()).encode("utf-8")


def as_xlsx(levels: Sequence[Mapping[str, Any]], workers: Sequence[Mapping[str, Any]], title: str) -> bytes:
    """A workbook: a sheet per level (street, community, grid …), then the grid workers and the other staff; headers
    in the reader's language, rates as percentages, flagged cells filled red, amber or green."""
    from openpyxl import Workbook  # a few hundred ms to import: only when a workbook is asked for
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=False)
    for blank in list(book.worksheets):
        book.remove(blank)
    sheets: list[tuple[str, tuple[list[str], list[list[Any]], list[Column | None]], list[Mapping[str, Any]]]] = []
    for result in levels:
        sheets.append((level_name(result["level"]), _area_table(result), list(result["rows"])))
    for which in ("grid", "staff"):
        mine = team(workers, which)
        sheets.append((gettext(TEAM_NAMES[which]), _worker_table(mine), mine))
    for name, (header, rows, kinds), source in sheets:
        ws = book.create_sheet(name[:31])
        ws.append(header)
        for c in ws[1]:
            c.font = Font(bold=True)
        for row, src in zip(rows, source, strict=True):
            ws.append([cell(v) if isinstance(v, str) else v for v in row])
            flagged = src.get("flags") or {}
            for k, col in enumerate(kinds):
                if col is None:
                    continue
                c = ws.cell(row=ws.max_row, column=k + 1)
                if col.kind == "rate":
                    c.number_format = "0.0%"
                elif col.kind == "hours":
                    c.number_format = "0.0"
                if col.key in flagged:
                    c.fill = PatternFill("solid", fgColor=_FILLS[flagged[col.key]])
        ws.freeze_panes = "C2"  # the header and the names stay in view
        for k, text in enumerate(header):
            ws.column_dimensions[get_column_letter(k + 1)].width = max(8, min(28, 2 * len(str(text)) + 2))
    book.properties.title = title
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
