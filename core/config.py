"""One settings object, read from the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    lang: str


def settings() -> Settings:
    data_dir = Path(os.environ.get("RENEWDAY_DATA_DIR", DATA_DIR))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'event.db'}"
    return Settings(database_url=url, data_dir=data_dir, lang=os.environ.get("RENEWDAY_LANG", "zh-CN"))
