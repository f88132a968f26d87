"""One error type for every refusal at a desk; the page maps `reason` to a translated message."""
from __future__ import annotations


class DeskError(Exception):
    def __init__(self, reason: str, **info):
        super().__init__(reason)
        self.reason = reason
        self.info = info

    def __repr__(self) -> str:
        return f"DeskError({self.reason!r}, {self.info!r})"
