"""The pages speak Chinese first and English by choice: every string a page shows has its Chinese in the
catalogue (a new string without one fails here), the compiled catalogue is the one the .po says, and the
language is chosen by `?lang=` (kept in a cookie), else the browser, else Chinese."""

from __future__ import annotations

from gettext import GNUTranslations
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from gridops.web.i18n import COOKIE, TRANSLATIONS

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES"


def _page_strings() -> set[str]:
    with open(ROOT / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = set()
    # as `make messages` extracts: an error's sentence (gridops.core.words.Say, gridops.geo.errors)
    keywords = {**DEFAULT_KEYWORDS, "Say": None, "GeoError": None, "CoordinateError": None, "UnknownCRS": None,
                "EditRefused": (2,)}
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT / "gridops", method_map, options_map, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_page_string_has_its_chinese():
    strings = _page_strings()
    assert len(strings) > 150  # the extraction reads the templates and the marked tables
    with open(CATALOGUE / "messages.po", "rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id}
    missing = sorted(s for s in strings if not po.get(s))
    assert not missing, "no Chinese for these page strings (run `make messages` and translate them):\n" + "\n".join(missing)


def test_the_compiled_catalogue_is_the_one_the_po_file_says():
    with open(CATALOGUE / "messages.po", "rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id and m.string}
    with open(CATALOGUE / "messages.mo", "rb") as fh:
        mo = GNUTranslations(fh)
    stale = [k for k, v in po.items() if mo.gettext(k) != v]
    assert not stale, f"messages.mo is older than messages.po (run `make messages`): {stale[:5]}"


def test_the_language_is_chinese_unless_english_is_chosen(admin_client):
    zh = admin_client.get("/admin/categories")
    assert '<html lang="zh-CN">' in zh.get_data(as_text=True) and "事件分类与办理时限" in zh.get_data(as_text=True)
    browser_en = admin_client.get("/admin/categories", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Categories and their time limits" in browser_en.get_data(as_text=True)
    browser_zh_first = admin_client.get("/admin/categories", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert "事件分类与办理时限" in browser_zh_first.get_data(as_text=True)
    chosen = admin_client.get("/admin/categories?lang=en", headers={"Accept-Language": "zh-CN"})
    assert "Categories and their time limits" in chosen.get_data(as_text=True)
    assert f"{COOKIE}=en" in chosen.headers["Set-Cookie"]
    kept = admin_client.get("/admin/categories", headers={"Accept-Language": "zh-CN"})  # the cookie outranks the browser
    assert "Categories and their time limits" in kept.get_data(as_text=True)
    back = admin_client.get("/admin/categories?lang=zh")
    assert "事件分类与办理时限" in back.get_data(as_text=True)
    odd = admin_client.get("/admin/categories?lang=xx")  # not a language we have: the kept choice stands
    assert "事件分类与办理时限" in odd.get_data(as_text=True)
