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
    max_upload_bytes: int = 20 * 1024 * 1024  # a customer sheet larger than this is refused unread


def settings() -> Settings:
    data_dir = Path(os.environ.get("RENEWDAY_DATA_DIR", DATA_DIR))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'event.db'}"
    try:
        upload_mb = float(os.environ.get("RENEWDAY_MAX_UPLOAD_MB", "20"))
    except ValueError:
        upload_mb = 20.0
    return Settings(database_url=url, data_dir=data_dir, lang=os.environ.get("RENEWDAY_LANG", "zh-CN"),
                    max_upload_bytes=int(upload_mb * 1024 * 1024))
