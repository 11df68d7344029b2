"""The one table of the names people read for the loop's statuses, steps, time-limit stages and tiers, in Chinese
and English.

Every page, export and message names a status or a step from here (the codes stay in the API, the events and the
database): the pages through gridops.web (`status_name`, `step_name` in templates, the script strings), the
messages in the recipient's language, the problem details as `Term`s of a sentence.
"""

from __future__ import annotations

from collections.abc import Mapping

from gridops.core.words import Term

ZH = "zh_Hans_CN"  # the messages' code for Chinese; a page's locale is zh_CN — anything not English is Chinese

# status -> (中文, English)
STATUS_NAMES: dict[str, Term] = {code: Term(en, zh) for code, zh, en in (
    ("reported", "已上报", "reported"), ("accepted", "已受理", "accepted"), ("assessed", "已研判", "assessed"),
    ("dispatched", "已派遣", "dispatched"), ("in_progress", "处置中", "in progress"), ("resolved", "已反馈", "resolved"),
    ("verified", "已核查", "verified"), ("closed", "已结案", "closed"), ("followed_up", "已回访", "followed up"),
    ("returned", "已退回", "returned for rework"), ("reopened", "已重开", "reopened"), ("escalated", "已升级", "escalated"),
    ("merged", "已合并", "merged"),
)}

# step (action) -> (中文, English); `report` is the history's first line, taken by no one by name
STEP_NAMES: dict[str, Term] = {code: Term(en, zh) for code, zh, en in (
    ("report", "上报", "report"), ("accept", "受理", "accept"), ("assess", "研判", "assess"), ("dispatch", "派遣", "dispatch"),
    ("take", "接单", "take"), ("reassign", "改派", "reassign"), ("reject", "退单", "send back"),
    ("check_in", "到场签到", "check in"), ("resolve", "处置反馈", "resolve"), ("verify", "核查", "verify"),
    ("return", "退回重办", "return for rework"), ("close", "结案", "close"), ("rate", "回访评价", "rate"),
    ("follow_up", "回访", "follow up"), ("not_fixed", "未解决", "not fixed"), ("escalate", "上报升级", "escalate"),
    ("supervise", "督办", "supervise"), ("merge", "合并", "merge"), ("split", "拆分", "split"), ("comment", "备注", "comment"),
)}

# a time limit's stages (gridops.incidents.deadlines)
STAGE_NAMES: dict[str, Term] = {"accept": Term("accept", "受理"), "handle": Term("handle", "处置"),
                                "verify": Term("verify", "核查")}

# the escalation ladder's tiers
TIER_NAMES: dict[str, Term] = {code: Term(en, zh) for code, zh, en in (
    ("grid", "网格", "grid"), ("grid_leader", "网格长", "grid leader"), ("community", "社区", "community"),
    ("street", "街道", "street"), ("district", "区", "district"),
)}


def name(table: Mapping[str, Term], code: str | None, lang: str) -> str:
    """A code's name in a language (`en`, else Chinese); a code the table lacks is shown as it is."""
    if code is None:
        return ""
    term = table.get(code)
    if term is None:
        return code
    return str(term) if lang == "en" else (term.zh or str(term))


def names(table: Mapping[str, Term], lang: str) -> dict[str, str]:
    """The whole table in one language (for a page's script)."""
    return {code: name(table, code, lang) for code in table}
