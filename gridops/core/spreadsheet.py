"""Text bound for a spreadsheet: a cell a user typed must not become a formula when a command-centre
clerk opens the export in Excel or WPS (CSV injection: `=HYPERLINK(…)`, `@SUM(…)`, `+cmd|…`)."""

from __future__ import annotations

from typing import Any

# what makes Excel, LibreOffice and WPS read a cell as a formula (OWASP's list, with tab and CR)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """The value as a CSV cell: text starting like a formula gets a leading apostrophe, which the
    spreadsheet shows as text; numbers and None (an empty cell) are left as they are."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
