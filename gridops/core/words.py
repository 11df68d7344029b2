"""Sentences said to a person in their language: written in English where they are raised, translated where
they are shown.

Domain code knows no request and no reader, so it cannot translate; it says *what* to say — a template of the
catalogues with its values (`Say("no incident %(id)s that you may see.", id=7)`) — and the one place that answers
(gridops.web.problems for the web, gridops.messages for a person's messages) says it in the reader's language.
A value that is itself a word of the catalogues (a step's name, a role's, a field's) is a `Term`, translated with
the sentence; a list of them is joined as the language joins them (、 or ", ").

`N_`, `Say` and `Term` are pybabel's keywords (Makefile `messages`): their literal arguments go to the catalogues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def N_(text: str) -> str:
    """Marks a string for the catalogues where it is defined (gettext_noop): a table of titles is made at import,
    before any request has a language, and translated where it is shown (`gettext(title)`)."""
    return text


class Term(str):
    """A word inside a sentence (a step, a role, a field), said in the sentence's language: English as written,
    in Chinese its own `zh` when a table gives it both (gridops.incidents.names), else the catalogue's."""

    zh: str | None

    def __new__(cls, english: str, zh: str | None = None) -> Term:
        term = super().__new__(cls, english)
        term.zh = zh
        return term


class Say:
    """A sentence of the catalogues and its values: English as written (`str(say)`, the log and the CLI), any
    language through `in_language` (the catalogue's translation of the template, filled with the values)."""

    __slots__ = ("template", "params")

    def __init__(self, template: str, /, **params: Any) -> None:
        self.template = template
        self.params: Mapping[str, Any] = params

    def in_language(self, translate: Callable[[str], str], separator: str = ", ", *, chinese: bool = False) -> str:
        """The sentence through `translate` (a catalogue's gettext); Terms among the values are translated too
        (`chinese`: a Term's own Chinese is said)."""
        text = translate(self.template)
        if not self.params:
            return text
        values = {key: _value(value, translate, separator, chinese) for key, value in self.params.items()}
        try:
            return text % values
        except (KeyError, TypeError, ValueError):  # a translation that names a value the sentence lacks: say it in English
            return self.template % {key: _value(value, _same, ", ", False) for key, value in self.params.items()}

    def __str__(self) -> str:
        return self.in_language(_same)

    def __repr__(self) -> str:
        return f"Say({self.template!r}, **{dict(self.params)!r})"


def _same(text: str) -> str:
    return text


def _value(value: Any, translate: Callable[[str], str], separator: str, chinese: bool) -> Any:
    if isinstance(value, Term):
        return value.zh if chinese and value.zh else translate(value)
    if isinstance(value, Say):
        return value.in_language(translate, separator, chinese=chinese)
    if isinstance(value, (list, tuple)):
        return separator.join(str(_value(v, translate, separator, chinese)) for v in value)
    return value
