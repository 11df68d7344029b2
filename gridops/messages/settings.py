"""The messages' settings: the configuration's (defaults, the environment), then what an admin set on the
page (`message_setting`), which wins. Read by each dispatcher pass, so a change reaches every process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.core.models import MessageSetting

# the settings the admin page may change (the rest are the deployment's, in the environment)
KEYS = (
    "SMS_GATEWAY", "SMS_URL", "SMS_TOKEN", "SMS_FORM", "SMS_TEMPLATES",
    "SMS_RECEIPT_TOKEN",
    "QUIET_HOURS",
    "ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME", "ALIYUN_SMS_URL",
    "WECOM_CORP_ID", "WECOM_SECRET", "WECOM_AGENT_ID", "WECOM_API_URL", "WECOM_DUPLICATE_SECONDS",
    "SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_FROM", "SMTP_SECURITY",
    "ROBOTS",
)
SECRET_KEYS = frozenset({"SMS_TOKEN", "SMS_RECEIPT_TOKEN", "ALIYUN_ACCESS_KEY_SECRET", "WECOM_SECRET", "SMTP_PASSWORD"})  # shown masked


def effective(config: Mapping[str, Any], session: Session) -> dict[str, Any]:
    merged = {k: config.get(k) for k in KEYS}
    merged.update({k: v for k, v in config.items() if k not in merged})
    for row in session.scalars(select(MessageSetting)):
        merged[row.key] = row.value
    return merged
