"""Chinese address text in one canonical form, so a typed address finds its building.

People write the same door many ways: full-width digits (３栋), spaces, 幢/座/号楼
for 栋, 单元 spelled out or not, 室 or 号 for the room, Chinese numerals (三栋).
The canonical form is NFKC, no spaces or punctuation, Arabic digits, and one
spelling per part.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_address", "chinese_numeral_to_int"]

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千]+")
# a numeral only counts as a number where an address part follows it
_NUMBERED_PART = re.compile(r"([零〇一二两三四五六七八九十百千]+)(?=(号|栋|幢|座|号楼|单元|楼|层|室|户|期|区|弄|巷))")
_BUILDING = re.compile(r"(\d+)(?:号楼|幢|座|栋|号栋)")
_UNIT = re.compile(r"(\d+)(?:单元|门洞)")
_ROOM = re.compile(r"(\d+)(?:室|户)$")
# after the unit, a bare number (or one ending in 号) is the room
_ROOM_AFTER_UNIT = re.compile(r"(单元)(\d+)(?:号|室|户)?$")
_PUNCT = re.compile(r"[\s,，。.、·\-—_/()（）#]+")


def chinese_numeral_to_int(text: str) -> int:
    """二十三 → 23, 一百零五 → 105, 三 → 3; digits spelled one by one (一零五) → 105."""
    if all(ch in _DIGITS for ch in text):
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch in _UNITS:
            total += (current or 1) * _UNITS[ch]
            current = 0
    return total + current


def normalize_address(text: str) -> str:
    """The canonical form of an address; equal forms name the same place."""
    s = unicodedata.normalize("NFKC", text).strip()
    s = _NUMBERED_PART.sub(lambda m: str(chinese_numeral_to_int(m.group(1))), s)
    s = _PUNCT.sub("", s)
    s = _BUILDING.sub(r"\1栋", s)
    s = _UNIT.sub(r"\1单元", s)
    s = _ROOM.sub(r"\1室", s)
    s = _ROOM_AFTER_UNIT.sub(r"\1\2室", s)
    return s.lower()
