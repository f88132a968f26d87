"""Store-local time. One place, so tests and benchmarks can read it the same way."""
from datetime import datetime


def now() -> datetime:
    return datetime.now().replace(microsecond=0)
