"""The UI catalog: one JSON file per language in core/locale. zh-CN first, English available."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGS = ("zh-CN", "en")
_DIR = Path(__file__).parent / "locale"


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    return json.loads((_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def t(key: str, lang: str = "zh-CN", **params) -> str:
    """The text for key in lang; falls back to zh-CN, then to the key itself."""
    text = catalog(lang if lang in LANGS else "zh-CN").get(key) or catalog("zh-CN").get(key) or key
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError, ValueError):
        return text
