"""Store-local time. One place, so tests and benchmarks can read it the same way.

Full precision: the double-scan window (one second) is measured on these timestamps."""
from datetime import datetime


def now() -> datetime:
    return datetime.now()
