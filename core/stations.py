"""A station's sign-in as a signed token, so a tablet survives a reload and a server restart.

The token names the staff member, the desk, the event and the language, and expires at the end of
the event day (or of today, for an event already past). It is signed with HMAC-SHA256 under a
per-install secret (data/secret.key, created 0600 on first use) and revoked on sign-out (the
revocation is stored, so it holds after a restart too). Staff name and role are read again from the
store on every restore: a deactivated person or a changed role takes effect at once."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy.engine import Engine

from core.clock import now
from core.models import Event, Setting, Staff
from core.store import read_session, write_session

COOKIE = "rd_station"
_REVOKED = "station_revoked:"


def secret_key(data_dir: Path) -> bytes:
    """The install's signing secret; created once, readable by this user only."""
    path = Path(data_dir) / "secret.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use theirs
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def expiry_for(event_date: date) -> datetime:
    """The end of the event day; for an event already past, the end of today."""
    return datetime.combine(max(event_date, now().date()), time(23, 59, 59))


def issue(*, key: bytes, staff_id: int, desk: str, event_id: int, lang: str, expires: datetime) -> str:
    body = {"s": staff_id, "d": desk, "e": event_id, "l": lang, "x": int(expires.timestamp()), "n": secrets.token_hex(8)}
    payload = _b64(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    return payload + "." + _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def read(token: str | None, *, key: bytes) -> dict | None:
    """The token's claims if it is ours, untampered and not expired; else None."""
    if not token or token.count(".") != 1:
        return None
    payload, sig = token.split(".")
    try:
        good = hmac.compare_digest(_unb64(sig), hmac.new(key, payload.encode(), hashlib.sha256).digest())
        body = json.loads(_unb64(payload)) if good else None
    except (ValueError, TypeError):
        return None
    if not body or body.get("x", 0) < now().timestamp():
        return None
    return body


def restore(engine: Engine, token: str | None, *, key: bytes) -> dict | None:
    """Who this tablet is, from its token: None when the token is bad, expired or revoked, or the
    person is no longer active, or the event is gone."""
    body = read(token, key=key)
    if body is None:
        return None
    with read_session(engine) as s:
        if s.get(Setting, _REVOKED + body["n"]) is not None:
            return None
        staff, event = s.get(Staff, body["s"]), s.get(Event, body["e"])
        if staff is None or not staff.active or event is None:
            return None
        return {"staff_id": staff.id, "staff_name": staff.name, "role": staff.role, "desk": body["d"],
                "event_id": event.id, "event_name": event.name, "lang": body.get("l", "zh-CN")}


def revoke(engine: Engine, token: str | None, *, key: bytes) -> bool:
    """Sign-out: this token no longer opens the station, even if a browser kept it."""
    body = read(token, key=key)
    if body is None:
        return False
    with write_session(engine) as s:
        if s.get(Setting, _REVOKED + body["n"]) is None:
            s.add(Setting(key=_REVOKED + body["n"], value=str(body["x"])))
    return True
