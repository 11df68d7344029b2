"""The wordings an admin keeps: every kind of message in each language, the built-in text beside the custom one,
the fields a template may name, and a preview rendered with sample data — so an admin sees what a worker's phone
will show before the first real message goes out with it.

Only reading, checking and rendering lives here; the change itself, with its audit row, is made by
gridops.registers.messaging (the audit trail and the role policy are above this room).
"""

from __future__ import annotations

import string
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import MessageTemplate
from gridops.core.words import Say
from gridops.messages.kinds import KINDS, LANGS, builtin, fields_of, title
from gridops.messages.templates import check, render

MAX_TEMPLATE = 2000  # characters: an SMS of 70 characters a part would be 29 parts; nobody means more

# what each field looks like in a preview (a field not named here shows as ‹name›)
SAMPLE: dict[str, Any] = {
    "incident": 1024, "category": "楼道堆物", "address": "幸福里社区3栋2单元", "due": "12月3日 17:30", "reason": "网格员请假",
    "pct": 75, "note": "已超过处置时限", "from_tier": "网格", "to_tier": "社区", "department": "城管执法",
    "register": "独居老人 王奶奶", "link": "https://grid.example.gov.cn/follow/8f3a", "code": "381920", "minutes": 5,
    "channel": "sms", "sent_by": "系统管理员", "at": "12月2日 10:30", "message": "一条消息", "grid": "幸福里第5网格",
}


def known(kind: str, lang: str) -> None:
    """Refuse a kind or a language gridops does not send (404: there is no such template to change)."""
    if kind not in KINDS:
        raise NotFound(Say("no kind of message %(kind)r; kinds: %(kinds)s.", kind=kind, kinds=', '.join(KINDS)))
    if lang not in LANGS:
        raise NotFound(Say("no language %(lang)r for messages; languages: %(langs)s.", lang=lang, langs=', '.join(LANGS)))


def checked(text: str) -> str:
    """A template as it will be kept: trimmed, not empty, not too long, and renderable."""
    text = (text or "").strip()
    if not text:
        raise InvalidParameter("text", Say("the template is empty; to go back to the built-in wording, reset it instead."))
    if len(text) > MAX_TEMPLATE:
        raise InvalidParameter("text", Say("the template has %(n_text)s characters; at most %(max_template)s.",
                                           n_text=len(text), max_template=MAX_TEMPLATE))
    check(text)
    return text


def sample(kind: str) -> dict[str, Any]:
    return {name: SAMPLE.get(name, f"‹{name}›") for name in fields_of(kind)}


def preview(kind: str, lang: str, text: str | None = None) -> dict[str, Any]:
    """A template (the given text, else the built-in one) rendered with sample data, and the fields it names that
    the kind's messages do not have (they would render empty)."""
    known(kind, lang)
    text = checked(text) if text is not None else builtin(kind, lang)
    data = sample(kind)
    named = [f for _, f, _, _ in string.Formatter().parse(text) if f]
    return {"kind": kind, "lang": lang, "title": title(kind, lang), "text": render(text, data), "data": data,
            "unknown_fields": sorted({f for f in named if f not in data})}


def template_view(kind: str, lang: str, custom: MessageTemplate | None) -> dict[str, Any]:
    return {"kind": kind, "lang": lang, "title": title(kind, lang), "builtin": builtin(kind, lang),
            "custom": custom.text if custom is not None else None,
            "updated_at": custom.updated_at.isoformat() if custom is not None else None,
            "updated_by": custom.updated_by if custom is not None else None}


def catalogue(session: Session) -> list[dict[str, Any]]:
    """Every kind with its fields and its wording in each language (built-in, and the admin's if any)."""
    custom = {(t.kind, t.lang): t for t in session.scalars(select(MessageTemplate))}
    return [{"kind": code, "name": k.name, "name_en": k.name_en, "urgent": k.urgent, "fields": fields_of(code),
             "templates": [template_view(code, lang, custom.get((code, lang))) for lang in LANGS]}
            for code, k in KINDS.items()]
