"""Numbers shown only as far as a role needs them: enough to recognise, not enough to call."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str | None:
    """138****5678."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep = 3 if len(digits) >= 11 else 1
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]


def mask_id_number(value: str | None) -> str | None:
    """510199********123X: the region and the last four, never the birth date."""
    if not value:
        return value
    return value[:6] + "*" * max(len(value) - 10, 0) + value[-4:] if len(value) > 10 else "*" * len(value)
