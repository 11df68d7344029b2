"""What the risk page and the risk API say to a person: the words of the figures, in the catalogues.

Each string is English marked with `N_` (pybabel extracts it into the catalogues); the caller hands in the
translation function of the reader's language (Flask-Babel's `gettext` on a page, a catalogue's on the command
line), so this room knows no web framework. A hot spot's sentence is built from its Gi* bin and its emerging
class: "这里近 8 周电动车违规充电明显偏多，且在加剧".
"""

from __future__ import annotations

from collections.abc import Callable

Translate = Callable[[str], str]


def N_(text: str) -> str:
    """Marks a string for the catalogues (gettext_noop); translated where it is shown."""
    return text


def plain(text: str) -> str:
    return text


# how far above the rest a hot spot is, by its Gi* bin (99/95/90% after FDR)
LEVELS = {3: N_("markedly above the rest of the area"), 2: N_("clearly above the rest of the area"),
          1: N_("somewhat above the rest of the area")}
COLD_LEVELS = {-3: N_("markedly below the rest of the area"), -2: N_("clearly below the rest of the area"),
               -1: N_("somewhat below the rest of the area")}
# how it moves, by its emerging hot-spot class (Mann-Kendall trend over the weeks)
TRENDS = {
    "new": N_(", and only in the last week"),
    "consecutive": N_(", for several weeks running"),
    "intensifying": N_(", and rising"),
    "persistent": N_(", week after week"),
    "diminishing": N_(", but falling"),
    "sporadic": N_(", on and off"),
    "oscillating": N_(", after having been below before"),
    "historical": N_(", though less so lately"),
}
BIN_NAMES = {3: N_("hot spot (confidence 99%)"), 2: N_("hot spot (confidence 95%)"), 1: N_("hot spot (confidence 90%)"),
             0: N_("not significant"), -1: N_("cold spot (confidence 90%)"), -2: N_("cold spot (confidence 95%)"),
             -3: N_("cold spot (confidence 99%)")}
CLASS_NAMES = {
    "new": N_("new hot spot"), "consecutive": N_("consecutive hot spot"), "intensifying": N_("intensifying hot spot"),
    "persistent": N_("persistent hot spot"), "diminishing": N_("diminishing hot spot"), "sporadic": N_("sporadic hot spot"),
    "oscillating": N_("oscillating hot spot"), "historical": N_("historical hot spot"),
    "new cold": N_("new cold spot"), "consecutive cold": N_("consecutive cold spot"),
    "intensifying cold": N_("intensifying cold spot"), "persistent cold": N_("persistent cold spot"),
    "diminishing cold": N_("diminishing cold spot"), "sporadic cold": N_("sporadic cold spot"),
    "oscillating cold": N_("oscillating cold spot"), "historical cold": N_("historical cold spot"),
    "no pattern": N_("no pattern"),
}
SENTENCE = N_("Over the last {weeks} weeks, {category} here is {level}{trend}.")
ALL_CATEGORIES = N_("incidents of every kind")
MORE = N_(" and {n} more")
COOLING = {
    "cooled": N_("Cooled since patrols began on {day}: {before} a week before, {after} a week since."),
    "not_cooled": N_("Not cooled since patrols began on {day}: {before} a week before, {after} a week since."),
    "too_early": N_("Patrols began on {day}; too early to tell whether it cooled (less than a week)."),
}


def sentence(t: Translate, weeks: int, category: str, gi_bin: int, trend: str) -> str:
    """The plain sentence of a hot (or cold) spot, in the reader's language."""
    level = t(LEVELS.get(gi_bin) or COLD_LEVELS.get(gi_bin) or BIN_NAMES[0])
    moving = t(TRENDS[trend]) if trend in TRENDS and gi_bin > 0 else ""
    return t(SENTENCE).format(weeks=weeks, category=category, level=level, trend=moving)
