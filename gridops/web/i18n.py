"""The pages' language: Chinese first, English by choice (Flask-Babel, catalogues under translations/).

A page's strings are written in English in the templates and code (`_()`), and the zh_Hans_CN catalogue
says them in Chinese; a page is shown in Chinese unless the browser's user chose English — with
`?lang=en` on any page (kept in a cookie for a year) or, when they never chose, a browser that asks
for English before Chinese. Machine-readable codes (the API's `type`, enum values) are never translated.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response, g, request
from flask_babel import Babel, get_locale, get_translations, gettext
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from gridops.core.words import N_, Say
from gridops.incidents import names

__all__ = ["N_", "Say", "chosen", "install", "locale", "page_lang", "say", "script_strings"]

LOCALES = ("zh_CN", "en")
DEFAULT = "zh_CN"
COOKIE = "gridops_lang"
TRANSLATIONS = Path(__file__).parent / "translations"
log = logging.getLogger(__name__)
_ASKED = {"zh": "zh_CN", "zh_cn": "zh_CN", "zh-cn": "zh_CN", "zh_hans": "zh_CN", "zh-hans": "zh_CN", "en": "en"}


def chosen(raw: str | None) -> str | None:
    """The locale a `?lang=` value or the cookie names (zh, zh-CN, en …), or None for anything else."""
    return _ASKED.get((raw or "").strip().lower())


def locale() -> str:
    """This request's language: `?lang=`, else the cookie, else the signed-in user's own choice (kept when they
    used the language switch: a new browser or phone starts in it), else the browser's first of zh/en, else Chinese."""
    asked = chosen(request.args.get("lang"))
    if asked:
        return asked
    kept = chosen(request.cookies.get(COOKIE))
    if kept:
        return kept
    own = chosen(_users_own())
    if own:
        return own
    best = request.accept_languages.best_match(["zh", "zh-CN", "en"])
    return "en" if best == "en" else DEFAULT


def _signed_in_user() -> int | None:
    """The user this request was already found to be (the guard finds them before the view): never a lookup of its
    own, so choosing the language cannot fail a request or sign anyone in."""
    who = g.get("principal")
    return who.user_id if who is not None else None


def _users_own() -> str | None:
    """The signed-in user's own language (`app_user.language`), read once a request."""
    user_id = _signed_in_user()
    if user_id is None:
        return None
    if "user_language" not in g:
        from gridops.access.users import language_of
        from gridops.web.request import database

        try:
            with database().session() as session:
                g.user_language = language_of(session, user_id)
        except Exception:  # the database is down: the page (an error page, likely) is said in the browser's language
            log.warning("the user's language could not be read", exc_info=True)
            g.user_language = None
    return g.user_language


def _keep_choice(response: Response) -> Response:
    """A `?lang=` choice is remembered by the browser, so the next page is in the same language, and, for a
    signed-in user, as their own language: their pages on another browser and the messages sent to them."""
    lang = chosen(request.args.get("lang"))
    if lang and request.cookies.get(COOKIE) != lang:
        response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    user_id = _signed_in_user()
    if lang and user_id is not None and response.status_code < 400:
        _keep_users_own(user_id, "en" if lang == "en" else "zh_Hans_CN")
    return response


def _keep_users_own(user_id: int, language: str) -> None:
    from gridops.access.users import set_language
    from gridops.web.request import database

    try:
        with database().session() as session:
            set_language(session, user_id, language)
    except Exception:  # the page was answered already: a choice not kept is asked again by the next switch
        log.warning("the user's language could not be kept", exc_info=True)


def install(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=locale)
    app.after_request(_keep_choice)
    app.jinja_env.globals["page_lang"] = page_lang
    app.jinja_env.globals["script_strings"] = script_strings
    app.jinja_env.globals["lang_query"] = lang_query
    app.jinja_env.globals["status_name"] = status_name
    app.jinja_env.globals["step_name"] = step_name


def script_strings(table: Mapping[str, str]) -> Markup:
    """A page script's words in the reader's language, as a JSON block the script reads through
    `/static/strings.js` (`gridopsT(key, {name: value})`): the words live in the catalogues like every
    other page string — a table of `N_()`-marked English, translated here — and the script holds keys only."""
    words = {key: gettext(text) for key, text in table.items()}
    return Markup('<script type="application/json" id="gridops-strings">%s</script>') % htmlsafe_json_dumps(words)


def lang_query(lang: str) -> str:
    """The query string of this page in another language: the filters a reader set (a category, a window) are kept
    when they switch, so a command centre showing the risk map to an English-reading visitor does not start over."""
    kept = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return urlencode([*kept, ("lang", lang)])
def say(sentence: Say | str) -> str:
    """A sentence of the domain (an error's `said`, a table's word) in this request's language."""
    if not isinstance(sentence, Say):
        sentence = Say(sentence)
    chinese = str(get_locale()) != "en"
    return sentence.in_language(get_translations().ugettext, "、" if chinese else ", ", chinese=chinese)


def lang_code() -> str:
    """This request's language as the domain names it (`en`, or `zh_Hans_CN`: the messages' and the names' tables)."""
    return "en" if str(get_locale()) == "en" else "zh_Hans_CN"


def status_name(code: str | None) -> str:
    """A status of the loop as the reader names it (the one table: gridops.incidents.names)."""
    return names.name(names.STATUS_NAMES, code, lang_code())


def step_name(code: str | None) -> str:
    """A step of the loop as the reader names it."""
    return names.name(names.STEP_NAMES, code, lang_code())


def status_words() -> dict[str, str]:
    """Every status of the loop in the reader's language, for a page script (`gridopsT("status_" + code)`)."""
    return {f"status_{c}": n for c, n in names.names(names.STATUS_NAMES, lang_code()).items()}


def page_lang() -> str:
    """The page's `lang` attribute (BCP 47)."""
    return "en" if str(get_locale()) == "en" else "zh-CN"
