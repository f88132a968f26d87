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


# Random bytes below 248 (= 8 × 31) map 8-to-1 onto the 31 symbols, so every symbol is equally
# likely; bytes 248–255 are dropped (rejection sampling). Uniform, and ~20× faster than
# secrets.choice per character when an import makes 20 000 codes.
_TABLE = bytes(ord(ALPHABET[b % 31]) if b < 248 else ord("!") for b in range(256))


def new_code() -> str:
    while True:
        chars = secrets.token_bytes(LENGTH + 7).translate(_TABLE).replace(b"!", b"")
        if len(chars) >= LENGTH:
            return chars[:LENGTH].decode()


def normalize_code(raw: str) -> str:
    """What a scanner or a person typed, as a code: upper case, no spaces or dashes.

    A QR that carries a link (…?c=CODE) is accepted too."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isprintable()):
        from core.validate import strip_controls

        text = strip_controls(text)  # NUL failed the action on PostgreSQL; controls are no code
    m = re.search(r"[?&]c=([A-Za-z0-9\-]+)", text)
    if m:
        text = m[1]
    return re.sub(r"[\s\-]", "", text).upper()


def looks_like_code(text: str) -> bool:
    return bool(_CODE.match(text))
