"""The UI catalog: per language, `core/locale/<lang>.json` plus one `<lang>.<area>.json` per part
of the product (desks, security, manager, callers…), merged. zh-CN first, English available."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGS = ("zh-CN", "en")
_DIR = Path(__file__).parent / "locale"


def catalog_files(lang: str) -> list[Path]:
    return [_DIR / f"{lang}.json", *sorted(_DIR.glob(f"{lang}.*.json"))]


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in catalog_files(lang):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def t(key: str, lang: str = "zh-CN", **params) -> str:
    """The text for key in lang; falls back to zh-CN, then to the key itself."""
    text = catalog(lang if lang in LANGS else "zh-CN").get(key) or catalog("zh-CN").get(key) or key
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError, ValueError):
        return text
