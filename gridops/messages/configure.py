"""The channels' settings as the admin page shows and changes them: each key of gridops.messages.settings.KEYS,
its effective value and where it comes from (the page, the environment, the default), secrets never shown.

Written for whatever KEYS holds: a key is checked by what its name and its default say it is (a URL, a port,
a yes/no, a list of kind=template pairs, quiet hours), and by the few choices named below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.core.config import DEFAULTS
from gridops.core.errors import InvalidParameter
from gridops.core.models import MessageSetting
from gridops.core.words import Say
from gridops.messages.fanout import parse_quiet_hours
from gridops.messages.kinds import KINDS
from gridops.messages.settings import KEYS, SECRET_KEYS

PAGE, ENVIRONMENT, DEFAULT = "page", "environment", "default"
# the settings that take one of a few words ("" : the channel is off)
CHOICES: dict[str, tuple[str, ...]] = {
    "SMS_GATEWAY": ("", "http", "aliyun"),
    "SMTP_SECURITY": ("starttls", "ssl", "none"),
}
MAX_VALUE = 4000
_FLAGS = {"1": "true", "true": "true", "yes": "true", "on": "true", "0": "false", "false": "false", "no": "false", "off": "false"}


def is_secret(key: str) -> bool:
    return key in SECRET_KEYS


def listing(config: Mapping[str, Any], session: Session) -> list[dict[str, Any]]:
    """Each key: its value now (a secret only says whether it is set), and whether the page, the environment
    (the deployment's configuration) or the default gives it."""
    page = {row.key: row for row in session.scalars(select(MessageSetting))}
    out = []
    for key in KEYS:
        row = page.get(key)
        if row is not None:
            value: Any = row.value
            source = PAGE
        else:
            value = config.get(key, DEFAULTS.get(key))
            source = ENVIRONMENT if key in config and config.get(key) != DEFAULTS.get(key) else DEFAULT
        shown = "" if value is None else (("true" if value else "false") if isinstance(value, bool) else str(value))
        secret = is_secret(key)
        out.append({"key": key, "value": None if secret else shown, "set": bool(shown), "secret": secret, "source": source,
                    "choices": list(CHOICES[key]) if key in CHOICES else None,
                    "environment": None if secret else _plain(config.get(key, DEFAULTS.get(key))),
                    "updated_at": row.updated_at.isoformat() if row is not None else None,
                    "updated_by": row.updated_by if row is not None else None})
    return out


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def checked(key: str, value: Any) -> str:
    """A value as it will be kept (text), refused with a reason naming the key when it cannot work."""
    if key not in KEYS:
        raise InvalidParameter(key, Say("%(key)s is not a setting of the messages; settings: %(keys)s.",
                                        key=key, keys=', '.join(KEYS)))
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidParameter(key, Say("%(key)s takes text, a number or true/false.", key=key))
    value = value.strip()
    if len(value) > MAX_VALUE:
        raise InvalidParameter(key, Say("%(key)s is %(n_value)s characters long; at most %(max_value)s.",
                                        key=key, n_value=len(value), max_value=MAX_VALUE))
    default = DEFAULTS.get(key)
    if key in CHOICES:
        if value not in CHOICES[key]:
            shown = ", ".join(c or '"" (off)' for c in CHOICES[key])
            raise InvalidParameter(key, Say("%(key)s is one of %(shown)s, not %(value)r.", key=key, shown=shown, value=value))
    elif key.endswith("_URL") and value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidParameter(key, Say("%(key)s is an http:// or https:// address, not %(value)r.", key=key, value=value))
    elif key == "QUIET_HOURS" or key.endswith("_QUIET_HOURS"):
        try:
            parse_quiet_hours(value)
        except InvalidParameter as err:
            raise InvalidParameter(key, Say("%(key)s: %(message)s", key=key, message=err.message)) from None
    elif key.endswith("_TEMPLATES"):
        _pairs(key, value)
    elif isinstance(default, bool):
        if value.lower() not in _FLAGS:
            raise InvalidParameter(key, Say("%(key)s is true or false, not %(value)r.", key=key, value=value))
        value = _FLAGS[value.lower()]
    elif isinstance(default, int | float) or key.endswith("_PORT"):
        try:
            number = float(value) if isinstance(default, float) else int(value)
        except ValueError:
            raise InvalidParameter(key, Say("%(key)s is a number, not %(value)r.", key=key, value=value)) from None
        if number < 0 or (key.endswith("_PORT") and not 0 < number < 65536):
            raise InvalidParameter(key, Say("%(key)s cannot be %(value)s.", key=key, value=value))
    return value


def _pairs(key: str, value: str) -> None:
    """kind=template id, … : every kind one gridops sends, every id given."""
    for part in value.replace(";", ",").split(","):
        if not part.strip():
            continue
        kind, eq, ident = part.partition("=")
        if not eq or not kind.strip() or not ident.strip():
            raise InvalidParameter(key, Say("%(key)s is a list like assigned=SMS_123, resolved=SMS_456; %(value)r is not "
                                            "kind=id.",
                                            key=key, value=part.strip()))
        if kind.strip() not in KINDS:
            raise InvalidParameter(key, Say("%(key)s names %(value)r, which is no kind of message; kinds: %(kinds)s.",
                                            key=key, value=kind.strip(), kinds=', '.join(KINDS)))
