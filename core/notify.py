"""The inviting advisor knows their guest is here: each arrival of a confirmed guest posts one
line to the store's WeCom (企业微信) group-robot webhook, e.g. "张*明 已到店，邀约人 李娜".

The webhook is outside the building, so it never touches a desk: the check-in transaction does
not know about it. A background notifier (one per process) reads check-ins newer than the last
one handled (its cursor is a Setting row, advanced in a transaction, so two processes never post
the same arrival), queues the lines and posts them with retries, at most `timeout_s` per try."""
from __future__ import annotations

import json
import logging
import os
import queue
import threading
import urllib.request
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.audit import run_action
from core.errors import DeskError
from core.models import CheckIn, Customer, Invitation, Setting, Staff
from core.privacy import mask_name
from core.store import read_session, write_session

log = logging.getLogger("renewday.notify")
WEBHOOK_KEY = "wecom.webhook_url"
CURSOR_KEY = "notify.last_checkin_id"


def webhook_url(engine: Engine) -> str:
    with read_session(engine) as s:
        row = s.get(Setting, WEBHOOK_KEY)
    return row.value if row else ""


def set_webhook_url(engine: Engine, *, url: str, staff_id: int | None, desk: str = "") -> dict:
    """The store's group-robot URL (manager only); empty turns the messages off."""
    from core.checkin import require_manager

    url = (url or "").strip()

    def body(s: Session) -> dict:
        require_manager(s, staff_id)
        if url and not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
            raise DeskError("webhook_invalid")
        row = s.get(Setting, WEBHOOK_KEY)
        if row is None:
            s.add(Setting(key=WEBHOOK_KEY, value=url))
        else:
            row.value = url
        return {"on": bool(url)}

    return run_action(engine, "webhook_url", body, event_id=None, desk=desk, staff_id=staff_id,
                      raw=url.split("key=")[0][:80])  # the robot's key stays out of the audit


def arrival_line(name: str, advisor: str) -> str:
    return f"{mask_name(name)} 已到店，邀约人 {advisor or '—'}"


def latest_checkin_id(engine: Engine) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.coalesce(func.max(CheckIn.id), 0))).scalar_one()


def claim_arrivals(engine: Engine, *, limit: int = 200) -> tuple[str, list[str]]:
    """Advance the cursor past the check-ins newer than it; the URL and the lines to post (the
    arrivals of confirmed guests). The first call starts the cursor at the latest check-in, so
    turning the notifier on never posts the past. Without a URL the arrivals are passed over."""
    with write_session(engine) as s:
        row = s.execute(select(Setting).where(Setting.key == CURSOR_KEY).with_for_update()).scalar_one_or_none()
        if row is None:
            top = s.execute(select(func.coalesce(func.max(CheckIn.id), 0))).scalar_one()
            s.add(Setting(key=CURSOR_KEY, value=str(top)))
            return "", []
        last = int(row.value or 0)
        rows = s.execute(select(CheckIn.id, Customer.name, Staff.name.label("advisor"), Invitation.call_outcome,
                                CheckIn.undone_at)
                         .join(Invitation, Invitation.id == CheckIn.invitation_id)
                         .join(Customer, Customer.id == Invitation.customer_id)
                         .outerjoin(Staff, Staff.id == Invitation.advisor_id)
                         .where(CheckIn.id > last).order_by(CheckIn.id).limit(limit)).all()
        if not rows:
            return "", []
        row.value = str(rows[-1].id)
        url = s.get(Setting, WEBHOOK_KEY)
        url = url.value if url else ""
    if not url:
        return "", []
    return url, [arrival_line(r.name, r.advisor) for r in rows
                 if r.call_outcome == "confirmed" and r.undone_at is None]


def post(url: str, text: str, *, timeout_s: float = 1.0) -> bool:
    """One try: the robot's text message. True when the robot took it (HTTP 200, errcode 0)."""
    data = json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json; charset=utf-8"},
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            body = resp.read(4096)
            if resp.status != 200:
                return False
    except Exception as exc:  # noqa: BLE001 - outside the building: anything can happen
        log.info("webhook try failed: %s", exc.__class__.__name__)
        return False
    try:
        return json.loads(body or b"{}").get("errcode", 0) == 0
    except ValueError:
        return True


@dataclass
class Notifier:
    """Two daemon threads: a poller that claims arrivals into a queue, a sender that posts them."""
    engine: Engine
    poll_s: float = 0.5
    timeout_s: float = 1.0
    tries: int = 3
    backoff_s: float = 0.5
    sent: int = 0
    failed: int = 0
    last_error: str = ""
    queue: "queue.Queue[tuple[str, str]]" = field(default_factory=lambda: queue.Queue(maxsize=2000))
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list = field(default_factory=list)
    _known: int = -1

    def start(self) -> "Notifier":
        for target in (self._poll_loop, self._send_loop):
            th = threading.Thread(target=target, name=f"renewday-notify-{target.__name__}", daemon=True)
            th.start()
            self._threads.append(th)
        return self

    def stop(self) -> None:
        self._stop.set()
        for th in self._threads:
            th.join(5)

    def poll_once(self) -> int:
        """Claim what is new; a cheap read first so an idle store costs no write transaction."""
        top = latest_checkin_id(self.engine)
        if top == self._known:
            return 0
        url, lines = claim_arrivals(self.engine)
        self._known = top
        for line in lines:
            try:
                self.queue.put_nowait((url, line))
            except queue.Full:
                self.failed += 1
                self.last_error = "queue_full"
        return len(lines)

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not end the thread
                self.last_error = exc.__class__.__name__
                log.debug("notifier poll failed", exc_info=True)
            self._stop.wait(self.poll_s)

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            try:
                url, line = self.queue.get(timeout=0.3)
            except queue.Empty:
                continue
            for attempt in range(self.tries):
                if post(url, line, timeout_s=self.timeout_s):
                    self.sent += 1
                    break
                if self._stop.wait(self.backoff_s * (attempt + 1)):
                    return
            else:
                self.failed += 1
                self.last_error = "webhook_failed"
                log.warning("webhook gave up after %d tries: %s", self.tries, line)


_running: dict[tuple[str, int], Notifier] = {}
_lock = threading.Lock()


def start(engine: Engine, **options) -> Notifier:
    """The process's notifier for this store (started once)."""
    key = (engine.url.render_as_string(hide_password=True), os.getpid())
    with _lock:
        n = _running.get(key)
        if n is None:
            n = _running[key] = Notifier(engine, **options).start()
        return n
