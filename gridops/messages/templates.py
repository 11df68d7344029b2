"""Rendering a message in a person's language: an admin's template if there is one, else the built-in one."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.core.errors import InvalidParameter
from gridops.core.models import MessageTemplate
from gridops.core.words import Say
from gridops.messages.kinds import builtin


class _Fields(dict[str, Any]):
    """A field the message does not have renders empty, never as an error mid-delivery."""

    def __missing__(self, key: str) -> Any:
        # an English field a message was written without (`category_en`) reads as its Chinese one, not as nothing
        if key.endswith("_en") and key[:-3] in self:
            return self[key[:-3]]
        return ""


def render(text: str, data: Mapping[str, Any] | None) -> str:
    rendered = string.Formatter().vformat(text, (), _Fields({k: "" if v is None else v for k, v in (data or {}).items()}))
    return " ".join(rendered.split())  # an empty field leaves no double space or dangling line


def check(text: str) -> None:
    """Refuse a template that could not render: an unclosed brace, a positional field, a format spec."""
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise InvalidParameter("text", Say("the template cannot be read: %(exc)s (write a literal brace as {{ or }}).", exc=exc)) from None
    for name in fields:
        if not name.isidentifier():
            raise InvalidParameter("text", Say("{%(name)s} is not a field name; fields are words like {incident} or {due}.",
                                               name=name))


class Wording:
    """The templates of one batch, read once."""

    def __init__(self, session: Session) -> None:
        self._custom = {(t.kind, t.lang): t.text for t in session.scalars(select(MessageTemplate))}

    def text(self, kind: str, lang: str) -> str:
        return self._custom.get((kind, lang)) or builtin(kind, lang)

    def render(self, kind: str, lang: str, data: Mapping[str, Any] | None) -> str:
        return render(self.text(kind, lang), data)
