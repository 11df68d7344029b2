"""The names people read for the fields the API and the pages' forms take: a refusal names the field in the reader's
language (「评分」), while the English answer keeps the code an API client sends (`rating`) — one table for both.

Refusals of a field the table does not name fall back to its code; the table holds what a page's form sends.
"""

from __future__ import annotations

from flask_babel import get_locale, gettext

from gridops.core.words import N_

# field code -> its name on the pages (English here, Chinese in the catalogue)
FIELD_NAMES: dict[str, str] = {
    "action": N_("step"), "address": N_("address"), "area": N_("area"), "area_code": N_("area code"),
    "accept_limit_minutes": N_("time to accept (minutes)"), "at": N_("time"), "body": N_("request body"),
    "building": N_("building"), "category": N_("category"), "cells": N_("cells"), "channel": N_("channel"),
    "channels": N_("channels"), "code": N_("code"), "community": N_("community"), "crs": N_("coordinate system"),
    "date": N_("date"), "day": N_("day"), "days": N_("days"), "department": N_("department"),
    "department_code": N_("department code"), "description": N_("description"), "device_time": N_("time on the phone"),
    "door": N_("door"), "due_at": N_("due time"), "duty": N_("duty"), "email": N_("e-mail address"),
    "end": N_("end"), "end_date": N_("end date"), "file": N_("file"), "floors": N_("floors"), "format": N_("format"),
    "geometry": N_("geometry"), "grid": N_("grid"), "grids": N_("grids"), "group_code": N_("group code"),
    "handled_on_spot": N_("handled on the spot"), "handler": N_("handler"), "household": N_("household"),
    "households": N_("households"), "id": N_("number"), "id_number": N_("ID number"), "incident": N_("incident"),
    "interval_days": N_("interval (days)"), "kind": N_("kind"), "kinds": N_("kinds"), "lang": N_("language"),
    "lat": N_("latitude"), "layer": N_("layer"), "level": N_("level"), "limit": N_("how many"),
    "location": N_("location"), "lon": N_("longitude"), "month": N_("month"), "name": N_("name"),
    "name_en": N_("English name"), "note": N_("note"), "offset": N_("offset"), "office_hours": N_("office hours"),
    "parent_code": N_("parent area code"), "person": N_("person"), "phone": N_("phone number"), "photo": N_("photo"),
    "photos": N_("photos"), "position": N_("position"), "quiet_hours": N_("quiet hours"), "rating": N_("rating"),
    "reached": N_("reached"), "reason": N_("reason"), "recent_days": N_("recent days"), "register": N_("register"),
    "role": N_("role"), "secret": N_("secret"), "shifts": N_("shifts"), "since": N_("since"), "start": N_("start"),
    "start_date": N_("start date"), "status": N_("status"), "target": N_("incident to merge into"), "text": N_("text"),
    "tier": N_("tier"), "time_limit_minutes": N_("time limit (minutes)"), "title": N_("title"), "to": N_("to"),
    "until": N_("until"), "urgency": N_("urgency"), "user": N_("user"), "valid_from": N_("valid from"),
    "valid_to": N_("valid to"), "verify_limit_minutes": N_("time to verify (minutes)"), "webhook": N_("webhook address"),
    "wecom_user": N_("WeCom user ID"), "weekday": N_("weekday"), "worker": N_("worker"), "workers": N_("workers"),
    "year": N_("year"),
}


def field_label(code: str) -> str:
    """A field as the reader names it in a sentence: its Chinese name in 「」 on a Chinese page, its code (what the
    API takes) in backticks in English. A nested field (`photos[0]`, `location.lon`) is named by its last part."""
    if str(get_locale()) == "en":
        return f"`{code}`"
    base = code.split("[")[0].rsplit(".", 1)[-1]
    return f"「{gettext(FIELD_NAMES[base])}」" if base in FIELD_NAMES else f"「{code}」"
