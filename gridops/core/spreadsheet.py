"""Text bound for a spreadsheet: a cell a user typed must not become a formula when a command-centre
clerk opens the export in Excel or WPS (CSV injection: `=HYPERLINK(…)`, `@SUM(…)`, `+cmd|…`)."""

from __future__ import annotations

import csv
from typing import Any

# what makes Excel, LibreOffice and WPS read a cell as a formula (OWASP's list, with tab and CR)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Export(csv.excel):
    """How gridops writes CSV: RFC 4180's CRLF line ends, so a cell holding a CR or LF alone (a description
    typed on an old Mac, a row passed through from a batch) is quoted — with "\\n" as the line end, Python's
    csv writes a lone CR bare and the row splits in two when read back."""

    lineterminator = "\r\n"


def cell(value: Any) -> Any:
    """The value as a CSV cell: text starting like a formula gets a leading apostrophe, which the
    spreadsheet shows as text; numbers and None (an empty cell) are left as they are."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def uncell(text: str) -> str:
    """A cell read back as it was before `cell` guarded it (an exported phone +86…, a floor -1 typed as text), so a
    file exported and imported again says what the register holds, not the apostrophe."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text
