"""Masking for anything public: the big screen and receipts."""
from __future__ import annotations

import re


def mask_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        return ""
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str | None) -> str:
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_plate(plate: str | None) -> str:
    """粤B12345 -> 粤B·***45 (new-energy 粤AD12345 -> 粤A·****45)."""
    p = (plate or "").replace("·", "").strip()
    if len(p) < 4:
        return "*" * len(p)
    tail = p[2:]
    return f"{p[:2]}·{'*' * (len(tail) - 2)}{tail[-2:]}"
