"""A register's rows in and out of files as clerks keep them: CSV (UTF-8, as Excel's "CSV UTF-8" saves it)
and Excel workbooks (.xlsx, the first sheet). A header row names the columns; each row comes with its
number as the clerk sees it in the spreadsheet, so a validation report can point at it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from gridops.core.errors import GridopsError, InvalidParameter, TooLarge
from gridops.core.spreadsheet import Export, cell

XLSX_MAGIC = b"PK\x03\x04"  # a workbook is a zip file
MAX_ROWS = 200_000


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


def read_rows(data: bytes, name: str = "") -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {column: value}) for each non-empty row under the header, from a CSV or an .xlsx."""
    if data.startswith(XLSX_MAGIC) or name.lower().endswith(".xlsx"):
        yield from _xlsx_rows(data)
    else:
        yield from _csv_rows(data)


def _header(cells: Sequence[Any]) -> list[str]:
    return [str(c).strip().lower() if c is not None else "" for c in cells]


def text_of(data: bytes, save_as: str = '"CSV UTF-8"') -> str:
    """A text file as sent: UTF-8, with or without Excel's byte-order mark; in another encoding it is refused,
    saying how to save it, never read with its characters replaced."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidParameter("file", f"the file is not UTF-8 text: save it as {save_as} and send it again.") from None


def _csv_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text_of(data, '"CSV UTF-8" (or as .xlsx)'), newline=""))
    header: list[str] | None = None
    for number, cells in enumerate(reader, start=1):
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = _header(cells)
            continue
        if number > MAX_ROWS:
            raise TooLarge(f"a file holds at most {MAX_ROWS:,} rows.")
        yield number, {k: (v.strip() or None) for k, v in zip(header, cells, strict=False) if k}


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    from openpyxl import load_workbook  # a few hundred ms to import: only when a workbook comes

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises zipfile, KeyError or its own errors for a file it cannot read
        raise InvalidParameter("file", "the file is not an Excel workbook gridops can read (.xlsx): "
                                       "save it again as .xlsx or CSV.") from None
    try:
        sheet = book.worksheets[0]
        header: list[str] | None = None
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if not any(c is not None and str(c).strip() for c in cells):
                continue
            if header is None:
                header = _header(cells)
                continue
            if number > MAX_ROWS:
                raise TooLarge(f"a file holds at most {MAX_ROWS:,} rows.")
            yield number, {k: _plain(v) for k, v in zip(header, cells, strict=False) if k}
    finally:
        book.close()


def _plain(value: Any) -> Any:
    """A cell as text or a number, the way a CSV would give it (Excel stores 3 as 3.0, dates as datetimes)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    text = str(value).strip()
    return text or None


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
