"""A register's rows in and out of files as clerks keep them: CSV (UTF-8, as Excel's "CSV UTF-8" saves it)
and Excel workbooks (.xlsx, the first sheet). A header row names the columns; each row comes with its
number as the clerk sees it in the spreadsheet, so a validation report can point at it.

Every register imports the same way (households, workers, assignments, buildings, visit registers): the
whole file is read and each row checked first; a file with any bad row stores nothing and the answer names
every bad row; a good file is applied in the caller's transaction, each row through the register's own
function (so an import meets the checks and the audit of a change made by hand), and one audit row says
what the file did. A column the file does not have is left as the register has it; an empty cell of a column
it has clears that fact, where the fact may be empty (a phone, a floor), and leaves it otherwise (a name, a role).
Rows as the register already has them are counted unchanged and not written, so a file exported and imported
again changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal, TypeVar

from sqlalchemy.orm import Session

from gridops.access.policy import Principal
from gridops.core.errors import GridopsError, InvalidParameter, TooLarge
from gridops.core.spreadsheet import Export, cell, uncell
from gridops.core.words import Say
from gridops.registers.audit import record_change

XLSX_MAGIC = b"PK\x03\x04"  # a workbook is a zip file
MAX_ROWS = 200_000
Outcome = Literal["created", "updated", "unchanged"]
T = TypeVar("T")


class BadFile(GridopsError):
    """A file with rows that cannot be stored: `rows` lists each row's number, field and what is wrong with it.
    Nothing of the file is stored."""

    slug = "invalid-file"

    def __init__(self, message: str, rows: list[dict[str, Any]]) -> None:
        super().__init__(message, rows=rows)
        self.rows = rows


def refuse(problems: list[dict[str, Any]], shown: int = 200) -> BadFile:
    """The answer to a file with bad rows: the first of them in the sentence, up to `shown` listed."""
    first = problems[0]
    return BadFile(f"{len(problems)} row(s) cannot be stored, nothing was imported; row {first['row']}: {first['detail']}",
                   problems[:shown])


@dataclass(frozen=True)
class Imported:
    """What a file did: its rows, and how many added, changed, or found as the register already had them."""

    rows: int
    created: int
    updated: int
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Sheet:
    """How one register's file is laid out: its columns (as the export writes them), those the header must have,
    and what clerks' own sheets call them (工号, 姓名 …), so the clerk's workbook is read as it is."""

    what: str  # the register's rows, as a sentence names them: "workers", "households"
    columns: tuple[str, ...]
    required: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)

    def rows(self, data: bytes, name: str = "") -> Iterator[tuple[int, dict[str, Any]]]:
        """(row number, {column: value}) for each row under the header, its headers read as the register's columns;
        a header without a required column is refused before any row is read."""
        checked = False
        for number, raw in read_rows(data, name):
            row = {self.aliases.get(k, k): v for k, v in raw.items()}
            if not checked:
                missing = [c for c in self.required if c not in row]
                if missing:
                    also = sorted({a for a, c in self.aliases.items() if c in missing and not a.isascii()})
                    raise InvalidParameter("file", Say("the header row needs the columns %(required)s%(also)s; missing: %(missing)s.",
                                                       required=", ".join(self.required), missing=", ".join(missing),
                                                       also=" (" + ", ".join(also) + " also read)" if also else ""))
                checked = True
            yield number, row

    def empty(self) -> InvalidParameter:
        return InvalidParameter("file", f"the file holds no {self.what} under its header row.")


class Problems:
    """The bad rows of a file as they are found: each row's number, the column, and what is wrong."""

    def __init__(self, fields: Mapping[str, str] | None = None) -> None:
        self.found: list[dict[str, Any]] = []
        self._fields = dict(fields or {})  # a function's field name -> the file's column (department_code -> department)
        self._seen: dict[Any, int] = {}

    def __bool__(self) -> bool:
        return bool(self.found)

    def add(self, row: int, column: str, detail: str) -> None:
        self.found.append({"row": row, "field": column, "detail": detail})

    def error(self, row: int, err: GridopsError, column: str) -> None:
        """A refusal raised for a row (by a parser or the register's own function), as that row's problem."""
        named = err.details.get("field")
        self.add(row, self._fields.get(str(named), str(named)) if named and named not in ("body", "id") else column, err.message)

    def repeated(self, row: int, key: Any, column: str, said: str) -> bool:
        """Whether `key` (a code, a door and kind …) was on an earlier row: then this row is a problem."""
        if key in self._seen:
            self.add(row, column, f"{said} is also on row {self._seen[key]}.")
            return True
        self._seen[key] = row
        return False

    def key(self, row: int, raw: Any, column: str, what: str, most: int) -> str | None:
        """A row's code (`what`: "door code (门牌码)"): given, at most `most` characters, on no earlier row; else None
        and the row's problem."""
        code = self.value(row, column, lambda v: limited(v, column, most), raw)
        if not code:
            if raw is None or not str(raw).strip():
                self.add(row, column, f"the {what} is empty.")
            return None
        return None if self.repeated(row, code, column, f"{what.split(' (')[0]} {code}") else code

    def value(self, row: int, column: str, parse: Callable[[Any], T], raw: Any) -> T | None:
        """`parse(raw)`, or None and the row's problem when it refuses (an empty cell is None, not parsed)."""
        if raw is None:
            return None
        try:
            return parse(raw)
        except GridopsError as err:
            self.add(row, column, err.message)
            return None

    def raise_if_any(self) -> None:
        if self.found:
            raise refuse(sorted(self.found, key=lambda p: p["row"]))


def check_rows(rows: Iterable[tuple[int, dict[str, Any]]], check: Callable[[int, dict[str, Any]], T | None], problems: Problems,
               sheet: Sheet) -> list[tuple[int, T]]:
    """Every row checked (`check` gives what to do with a row, or None and its problems), before anything is stored:
    a file with a bad row, or with no rows, is refused whole."""
    checked = [(number, plan) for number, row in rows if (plan := check(number, row)) is not None]
    problems.raise_if_any()
    if not checked:
        raise sheet.empty()
    return checked


def why(note: str | None, name: str) -> str:
    """The note each row's change is audited with: the importer's own, else the file's name."""
    return note or f"imported from {name or 'a file'}"


def apply_rows(session: Session, who: Principal | None, kind: str, name: str, note: str | None,
               checked: Sequence[tuple[int, T]], apply: Callable[[int, T], Outcome], problems: Problems,
               column: str) -> Imported:
    """Apply every checked row through the register's own function, then record what the file did in one audit row.

    A row the function refuses (ground that is not the caller's, a rule only it knows) is named like any bad
    row, and the whole file is refused: the caller's transaction is rolled back by the raise."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for number, plan in checked:
        try:
            counts[apply(number, plan)] += 1
        except GridopsError as err:
            if isinstance(err, BadFile):
                raise
            problems.error(number, err, column)
    problems.raise_if_any()
    done = Imported(len(checked), counts["created"], counts["updated"], counts["unchanged"])
    record_change(session, who, kind, name or "upload", "import", None, done.as_dict(), note=note)
    session.flush()
    return done


# --- cells ------------------------------------------------------------------------------------------

TRUE = {"true", "1", "yes", "y", "是", "在职", "在岗", "有效", "启用"}
FALSE = {"false", "0", "no", "n", "否", "离职", "离岗", "无效", "停用"}


def whole(raw: Any, column: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi], as a cell holds it ("3", 3, "3.0" from a spreadsheet)."""
    written = str(raw).strip()
    try:
        value = float(written) if "." in written else int(written)
    except ValueError:
        value = 0.5
    if isinstance(value, float) and not value.is_integer():
        raise InvalidParameter(column, Say("%(column)s is a whole number; got %(raw)r.", column=column, raw=raw))
    n = int(value)
    if not lo <= n <= hi:
        raise InvalidParameter(column, Say("%(column)s is %(lo)s to %(hi)s; got %(n)s.", column=column, lo=lo, hi=hi, n=n))
    return n


def number(raw: Any, column: str, lo: float, hi: float) -> float:
    try:
        x = float(str(raw).strip())
    except ValueError:
        raise InvalidParameter(column, Say("%(column)s is a number; got %(raw)r.", column=column, raw=raw)) from None
    if not lo <= x <= hi:  # NaN fails too
        raise InvalidParameter(column, Say("%(column)s is %(lo)s to %(hi)s; got %(raw)s.",
                                           column=column, lo=format(lo, "g"), hi=format(hi, "g"), raw=raw))
    return x


def yes_no(raw: Any, column: str) -> bool:
    text = str(raw).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise InvalidParameter(column, Say("%(column)s is yes or no (true/false, 是/否); got %(raw)r.", column=column, raw=raw))


def limited(raw: Any, column: str, most: int) -> str:
    value = str(raw).strip()
    if len(value) > most:
        raise InvalidParameter(column, Say("%(column)s is at most %(most)s characters; %(value)s… is %(n_value)s.",
                                           column=column, most=most, value=value[:20], n_value=len(value)))
    return value


def one_of(raw: Any, column: str, names: Mapping[str, str]) -> str:
    """A code, or a name a clerk writes for it (网格员 for grid_worker): `names` maps each, lower-cased, to its code."""
    found = names.get(str(raw).strip().lower())
    if found is None:
        codes = sorted(set(names.values()))
        raise InvalidParameter(column, Say("%(column)s is one of %(codes)s; got %(raw)r.",
                                           column=column, codes=', '.join(codes), raw=raw))
    return found


# --- reading ----------------------------------------------------------------------------------------


def read_rows(data: bytes, name: str = "") -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {column: value}) for each non-empty row under the header, from a CSV or an .xlsx; every
    column of the header is in each row (None where the row's cell is empty or missing)."""
    if data.startswith(XLSX_MAGIC) or name.lower().endswith(".xlsx"):
        yield from _xlsx_rows(data)
    else:
        yield from _csv_rows(data)


def _header(cells: Sequence[Any]) -> list[str]:
    return [str(c).strip().lower() if c is not None else "" for c in cells]


def _row(header: list[str], cells: Sequence[Any]) -> dict[str, Any]:
    return {k: _plain(cells[i]) if i < len(cells) else None for i, k in enumerate(header) if k}


def text_of(data: bytes, save_as: str = '"CSV UTF-8"') -> str:
    """A text file as sent: UTF-8, with or without Excel's byte-order mark; in another encoding it is refused,
    saying how to save it, never read with its characters replaced."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidParameter("file", Say("the file is not UTF-8 text: save it as %(save_as)s and send it again.",
                                           save_as=save_as)) from None


def _numbered(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
    header: list[str] | None = None
    for number, cells in enumerate(rows, start=1):
        if not any(c is not None and str(c).strip() for c in cells):
            continue
        if header is None:
            header = _header(cells)
            continue
        if number > MAX_ROWS:
            raise TooLarge(Say("a file holds at most %(max_rows)s rows.", max_rows=format(MAX_ROWS, ",")))
        yield number, _row(header, cells)


def _csv_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    yield from _numbered(csv.reader(io.StringIO(text_of(data, '"CSV UTF-8" (or as .xlsx)'), newline="")))


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    from openpyxl import load_workbook  # a few hundred ms to import: only when a workbook comes

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises zipfile, KeyError or its own errors for a file it cannot read
        raise InvalidParameter("file", Say("the file is not an Excel workbook gridops can read (.xlsx): "
                                       "save it again as .xlsx or CSV.")) from None
    try:
        yield from _numbered(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()


def _plain(value: Any) -> Any:
    """A cell as text or a number, the way a CSV would give it (Excel stores 3 as 3.0, dates as datetimes; an
    export's guard apostrophe is taken off)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = uncell(str(value).strip())
    return text or None


# --- writing ----------------------------------------------------------------------------------------


def write_csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, dialect=Export)
    writer.writerow(columns)
    for r in rows:
        writer.writerow([cell(r.get(c)) for c in columns])
    return "\ufeff" + out.getvalue()  # Excel opens UTF-8 with its mark as UTF-8


def write_xlsx(columns: Sequence[str], rows: Sequence[dict[str, Any]], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(list(columns))
    for r in rows:
        sheet.append([cell(r.get(c)) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_file(columns: Sequence[str], rows: Sequence[dict[str, Any]], title: str, fmt: str) -> bytes:
    """The rows as a file of `fmt` (csv or xlsx): what the API answers and the command line writes."""
    return write_xlsx(columns, rows, title) if fmt == "xlsx" else write_csv(columns, rows).encode("utf-8")
