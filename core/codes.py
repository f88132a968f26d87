"""Invitation codes: random, no personal data, nothing to forge, easy on a hand scanner.

17 characters from 31 (no 0/O/1/I/L) = 84 bits from `secrets`; a guess hits one of 20 000
live codes with odds of about 1 in 10^21.
"""
from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 17
_CODE = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")


_SPACE = len(ALPHABET) ** LENGTH


def new_code() -> str:
    """One uniform draw from all 31^17 codes (secrets.randbelow), written in base 31."""
    n = secrets.randbelow(_SPACE)
    out = []
    for _ in range(LENGTH):
        n, d = divmod(n, 31)
        out.append(ALPHABET[d])
    return "".join(out)


def normalize_code(raw: str) -> str:
    """What a scanner or a person typed, as a code: upper case, no spaces or dashes.

    A QR that carries a link (…?c=CODE) is accepted too."""
    text = (raw or "").strip()
    m = re.search(r"[?&]c=([A-Za-z0-9\-]+)", text)
    if m:
        text = m[1]
    return re.sub(r"[\s\-]", "", text).upper()


def looks_like_code(text: str) -> bool:
    return bool(_CODE.match(text))
