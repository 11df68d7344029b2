"""The command centre's hidden-risk map (/maps/risk): Chinese first, English by choice; patrols ordered from it."""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app, request
from flask_babel import get_locale, gettext

from gridops.access.policy import LEAD
from gridops.web.headers import with_nonce
from gridops.web.i18n import N_, page_lang
from gridops.web.pages.base import PageAnswer, pages, signed_in, with_map_chrome
from gridops.web.problems import describe
from gridops.web.request import PAGE_HEADER, database

# the words /static/riskmap.js shows (gridopsT(key, {…})), in the catalogues like every page string
RISK_STRINGS = {
    "layer_gi": N_("Hot and cold spots (Gi*)"),
    "layer_count": N_("Incidents per cell"),
    "layer_rate": N_("Rate per 1,000 households (grids)"),
    "layer_trend": N_("Emerging trend (weekly)"),
    "layer_heat": N_("Recent incidents (heat, last {days} days)"),
    "layer_spots": N_("Hot spots (outlined, with patrols)"),
    "legend_gi": N_("Hot and cold spots (Gi*, FDR-corrected)"),
    "legend_count": N_("Incidents per cell"),
    "legend_rate": N_("Incidents per 1,000 households"),
    "legend_trend": N_("Emerging hot-spot class"),
    "legend_heat": N_("Recent incidents"),
    "legend_none": N_("none"),
    "fewer": N_("fewer"),
    "more": N_("more"),
    "week_all": N_("Weeks: all {n}"),
    "week_of": N_("Week from {day}"),
    "week_label": N_("Week"),
    "cell_tip": N_("{grid}: {count} incidents, {rate} per 1,000 households · {gi} · {trend}"),
    "cell_tip_nohh": N_("{grid}: {count} incidents (no households) · {gi} · {trend}"),
    "grid_tip": N_("{name} ({community}): {count} incidents, {rate} per 1,000 households"),
    "outside": N_("outside the grids"),
    "spot_counts": N_("{count} incidents, {rate} per 1,000 households · {gi} · {trend}"),
    "spot_micro": N_("{n} micro-grids: {names}"),
    "order": N_("Order patrols"),
    "ordering": N_("Ordering…"),
    "ordered": N_("Patrols ordered: {n} visit tasks for {workers}, due {due}."),
    "ordered_none": N_("No worker answers for these micro-grids: nothing was ordered."),
    "order_failed": N_("Could not order patrols: {reason}"),
    "order_prompt": N_("A note for the workers (optional)"),
    "no_spots": N_("No hot spot in this window: nothing stands out above chance."),
    "show_on_map": N_("Show on the map"),
    "cooling_none": N_("No patrols ordered here yet."),
}


def _words(table: Mapping[str, str]) -> dict[str, str]:
    return {key: gettext(text) for key, text in table.items()}


@pages.get("/maps/risk")
def risk_page() -> PageAnswer | str:
    """Hidden risks for a category, an area and a window: one colour scale at a time with its legend, the hot spots
    named by grid and community, said in a sentence, and patrols ordered from them."""
    who = signed_in()
    from gridops.analytics.mapping import risk_page_html  # folium: ~1 s to import, needed only by the map pages

    lang = "en" if str(get_locale()) == "en" else "zh"
    cfg = current_app.config
    config = {"pageHeader": PAGE_HEADER, "mayOrder": who.can(LEAD), "timezone": cfg["TIMEZONE"], "lang": lang,
              "query": {k: request.args.get(k, "") for k in ("category", "area", "since", "until", "res")}}
    html, problem = risk_page_html(database(), cfg, request.args, t=gettext, lang=lang, words=_words(RISK_STRINGS),
                                   config=config, html_lang=page_lang())
    html = with_nonce(with_map_chrome(html))
    return (html, describe(problem).status) if problem is not None else html
