"""A CJK font from a Debian package (fonts-wqy-microhei or fonts-noto-cjk) for cards and receipts."""
from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
)


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    for path in CANDIDATES:
        if Path(path).exists():
            return path
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout and Path(out.stdout).exists():
            return out.stdout
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def font(size: int):
    from PIL import ImageFont

    path = cjk_font_path()
    if path is None:
        raise RuntimeError("No CJK font: apt-get install fonts-wqy-microhei")
    return ImageFont.truetype(path, size)
