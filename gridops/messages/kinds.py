"""Every kind of message gridops sends, with its built-in wording in each language.

An admin may reword any of them (`message_template`); a template names the fields of the message's data in
braces ({incident}, {category}, {address}, {due}, {link}…), and a field a message does not have renders empty; the
English wording names the fields' English forms ({category_en}, {due_en}, {from_tier_en}…: gridops.incidents.news).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

LANGS = ("zh_Hans_CN", "en")
DEFAULT_LANG = "zh_Hans_CN"


@dataclass(frozen=True)
class Kind:
    code: str
    name: str  # 中文名, the title of the message
    name_en: str
    zh: str
    en: str
    urgent: bool = False  # sent in quiet hours too, whatever the incident


KINDS: dict[str, Kind] = {k.code: k for k in (
    Kind("assigned", "新任务", "New task",
         "【网格任务】#{incident} {category}，{address}，请于{due}前处置。{reason}",
         "[Grid task] #{incident} {category_en} at {address}, due {due_en}. {reason}"),
    Kind("unassigned", "任务转出", "Task moved",
         "【网格任务】#{incident} {category} 已转交他人处置：{reason}",
         "[Grid task] #{incident} {category_en} went to someone else: {reason}"),
    Kind("warning", "即将超时", "Due soon",
         "【时限提醒】#{incident} {category}（{address}）已用去{pct}%的处置时限，请于{due}前办结。",
         "[Due soon] #{incident} {category_en} at {address} has used {pct}% of its time limit; due {due_en}."),
    Kind("supervised", "督办", "Supervised",
         "【督办】#{incident} {category}（{address}）已超时：{note}，请尽快处置。",
         "[Supervised] #{incident} {category_en} at {address} is overdue: {note}. Please act now.", urgent=True),
    Kind("escalated", "事件升级", "Escalated",
         "【事件升级】#{incident} {category}（{address}）已由{from_tier}升级至{to_tier}：{reason}",
         "[Escalated] #{incident} {category_en} at {address} went from {from_tier_en} to {to_tier_en}: {reason}", urgent=True),
    Kind("verify", "待核查", "To verify",
         "【待核查】#{incident} {category}（{address}）已处置完毕，请于{due}前核查。",
         "[To verify] #{incident} {category_en} at {address} is resolved; verify it by {due_en}."),
    Kind("department_order", "部门派单", "Department order",
         "【派单】#{incident} {category}（{address}）派至{department}，请于{due}前处置。",
         "[Order] #{incident} {category_en} at {address} is sent to {department}, due {due_en}."),
    Kind("visit_due", "走访到期", "Visit due",
         "【走访提醒】{register}（{address}）的走访请于{due}前完成。",
         "[Visit] {register} at {address} is due a visit by {due_en}."),
    Kind("visit_overdue", "走访逾期", "Visit overdue",
         "【走访逾期】{register}（{address}）的走访已逾期（应于{due}前）。",
         "[Visit overdue] {register} at {address} was due a visit by {due_en}."),
    Kind("patrol_order", "巡查任务", "Patrol ordered",
         "【巡查任务】{title}：{places}，请于{due}前完成巡查。",
         "[Patrol] {title}: {places}; patrol by {due_en}."),
    Kind("accepted", "已受理", "Accepted",
         "您反映的问题（{category}，编号{incident}）已受理，我们将于{due}前处置。查看进度：{link}",
         "Your report ({category_en}, no. {incident}) is accepted and will be handled by {due_en}. Follow it: {link}"),
    Kind("resolved", "已处置", "Resolved",
         "您反映的问题（{category}，编号{incident}）已处置完毕，请评价：{link}",
         "Your report ({category_en}, no. {incident}) is resolved. Please rate it: {link}"),
    Kind("closed", "已办结", "Closed",
         "您反映的问题（{category}，编号{incident}）已办结，感谢您的参与。评价或反馈未解决：{link}",
         "Your report ({category_en}, no. {incident}) is closed. Rate it, or say it is not fixed: {link}"),
    Kind("reopened", "已重新处置", "Reopened",
         "您反映的问题（{category}，编号{incident}）已重新交办处置。查看进度：{link}",
         "Your report ({category_en}, no. {incident}) is being handled again. Follow it: {link}"),
    Kind("sign_in_code", "验证码", "Sign-in code",
         "您的登录验证码为{code}，{minutes}分钟内有效。如非本人操作请忽略。",
         "Your sign-in code is {code}, valid for {minutes} minutes. Ignore this if you did not ask for it.",
         urgent=True),
    Kind("test", "测试消息", "Test message",
         "【测试】这是gridops发出的测试消息（{channel}，{sent_by}，{at}）。收到即表示该通道可用。",
         "[Test] A test message from gridops ({channel}, {sent_by}, {at}). If it reached you, the channel works.",
         urgent=True),  # an admin's check of a channel: sent at once, whatever the hour
)}


def builtin(kind: str, lang: str) -> str:
    """The built-in wording of a kind in a language (Chinese when the language has none)."""
    k = KINDS.get(kind)
    if k is None:
        return "{message}"
    return k.en if lang == "en" else k.zh


def fields_of(kind: str) -> list[str]:
    """The fields a kind's message has, in the order its wordings name them (what a template may use)."""
    k = KINDS.get(kind)
    if k is None:
        return ["message"]
    seen: dict[str, None] = {}
    for text in (k.zh, k.en):
        for _, name, _, _ in string.Formatter().parse(text):
            if name:
                seen.setdefault(name, None)
    return list(seen)


def title(kind: str, lang: str) -> str:
    k = KINDS.get(kind)
    if k is None:
        return kind
    return k.name_en if lang == "en" else k.name
