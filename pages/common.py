"""UI helpers shared by the pages: the engine, the station, translations, verdicts, the scanner box.

Pages stay thin: they call core and show what it answers. Nothing here decides a rule."""
from __future__ import annotations

import html
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from core import migrate
from core.config import settings
from core.errors import DeskError
from core.i18n import t
from core.store import get_engine

log = logging.getLogger("renewday")
DESK_ROLES = {  # which signed-in roles may open which page
    "checkin": None, "cashier": ("cashier", "manager"), "gifts": None, "board": None,
    "setup": ("manager",), "import": ("manager",),
}
DESKS = ("签到台1", "签到台2", "收银台1", "收银台2（开票）", "礼品台1", "礼品台2", "经理")
DESK_HOME = {"签到": "checkin", "收银": "cashier", "礼品": "gifts"}  # a desk lands on its own page


def home_page(desk: str, allowed: list[str]) -> str:
    """The page a station lands on: its desk's page when its role may open it, else the first allowed."""
    for prefix, name in DESK_HOME.items():
        if desk.startswith(prefix) and name in allowed:
            return name
    return allowed[0]


@st.cache_resource
def _engine(url: str):
    engine = get_engine(url)
    migrate.upgrade(engine)
    return engine


def engine():
    """One engine per process and URL (the store is migrated on first use)."""
    return _engine(settings().database_url)


def lang() -> str:
    return st.session_state.get("lang", settings().lang)


def tr(key: str, **params) -> str:
    return t(key, lang(), **params)


@dataclass
class Station:
    staff_id: int
    staff_name: str
    role: str
    desk: str
    event_id: int
    event_name: str

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"


def station() -> Station | None:
    return st.session_state.get("station")


def require_station(page: str) -> Station:
    """The signed-in station, or a plain message and stop."""
    s = station()
    if s is None:
        st.warning(tr("ui.sign_in_first"))
        st.stop()
    allowed = DESK_ROLES.get(page)
    if allowed and s.role not in allowed:
        st.error(tr("reason.not_manager") if allowed == ("manager",) else tr("ui.role_not_allowed"))
        st.stop()
    return s


def refusal_text(e: DeskError) -> str:
    info = {k: v for k, v in e.info.items() if isinstance(v, (str, int, float))}
    return tr(f"reason.{e.reason}", **info)


@contextmanager
def desk_action(show=None):
    """Run a desk action: a refusal becomes a plain message, anything else a generic one (logged)."""
    show = show or st.error
    try:
        yield
    except DeskError as e:
        show(refusal_text(e))
    except Exception:  # noqa: BLE001 - no traceback ever reaches a desk
        log.exception("desk action failed")
        show(tr("reason.unexpected"))


def scan_to_guest(prefix: str, event_id: int) -> None:
    """A desk's scanner box (key `{prefix}_scan`): one guest found → `{prefix}_guest`; several →
    `{prefix}_matches` to pick from; none → `{prefix}_msg` with the reason. The box is cleared."""
    from core import checkin

    ss = st.session_state
    raw = (ss.get(f"{prefix}_scan") or "").strip()
    ss[f"{prefix}_scan"] = ""
    ss[f"{prefix}_matches"], ss[f"{prefix}_msg"] = [], None
    answered()
    if not raw:
        return
    try:
        matches = checkin.find_guest(engine(), event_id=event_id, raw=raw)
    except DeskError as e:
        ss[f"{prefix}_msg"] = refusal_text(e)
        return
    if len(matches) == 1:
        ss[f"{prefix}_guest"] = matches[0]["invitation_id"]
    else:
        ss[f"{prefix}_matches"] = matches


def esc(value) -> str:
    return html.escape(str(value if value is not None else ""))


def verdict(kind: str, title: str, lines: list[str] = (), key: str = "verdict") -> None:
    """The big verdict that fills the desk: green, amber or red. Every value is escaped."""
    colours = {"green": ("#0b7a3b", "#e8f7ee"), "amber": ("#a15c00", "#fff4e0"), "red": ("#b3261e", "#fdecea"),
               "blue": ("#1a4fa0", "#eaf1fd")}
    fg, bg = colours[kind]
    body = "".join(f"<div style='font-size:1.6rem;margin-top:.3rem'>{line}</div>" for line in lines)
    st.html(f"<div class='rd-verdict rd-{kind}' style='border:6px solid {fg};background:{bg};color:{fg};"
            f"border-radius:18px;padding:1.4rem 1.8rem;'><div style='font-size:3.2rem;font-weight:800'>{title}</div>"
            f"{body}</div>")


def answered() -> None:
    """A desk gave a new answer (a verdict, a saved renewal, a hand-out): the scanner takes the cursor."""
    st.session_state["answer_seq"] = st.session_state.get("answer_seq", 0) + 1


def counters_strip(items: list[tuple[str, object, str]]) -> None:
    """Live counters as one HTML strip: (label, value, note). Measured here: st.columns of
    st.metric put ~100 ms on some scan-to-verdict reruns in Chromium; one element does not."""
    cells = "".join(f"<div style='min-width:9rem'><div style='color:#555'>{esc(label)}</div>"
                    f"<div style='font-size:2.2rem;font-weight:600'>{esc(value)}</div>"
                    f"<div style='color:#888;font-size:.85rem'>{esc(note)}</div></div>" for label, value, note in items)
    st.html(f"<div class='rd-counters' style='display:flex;gap:2.5rem;flex-wrap:wrap'>{cells}</div>")


def focus_scanner(key: str) -> None:
    """Put the cursor in the scanner box on arrival and after each answer, so the next scan needs
    no tap; a rerun for any other reason (leaving a field, opening a tab) leaves the cursor alone."""
    token = f"{key}:{st.session_state.get('answer_seq', 0)}"
    st.html(f"""<script>
      (function () {{
        const doc = window.parent ? window.parent.document : document;
        let tries = 0;
        function place() {{
          const box = doc.querySelector('.st-key-{key} input');
          if (!box) {{ if (tries++ < 60) requestAnimationFrame(place); return; }}
          const a = doc.activeElement;
          const typingElsewhere = a && a !== box && (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA' || a.isContentEditable);
          if (typingElsewhere) return;
          if (doc.body.dataset.rdFocus !== '{token}' || !a || a === doc.body) {{
            doc.body.dataset.rdFocus = '{token}';
            box.focus();
          }}
        }}
        requestAnimationFrame(place);
      }})();
    </script>""", unsafe_allow_javascript=True)


def scan_nonce(desk: str, raw: str) -> str:
    """Same code, same desk, same second: a retried request acts once."""
    return f"{desk}|{raw.strip().upper()}|{int(time.time())}"


def decode_photo(upload) -> str | None:
    """A QR or barcode from a camera photo (zxing-cpp); None when nothing readable is in it."""
    if upload is None:
        return None
    import zxingcpp
    from PIL import Image

    try:
        found = zxingcpp.read_barcodes(Image.open(upload))
    except Exception:  # noqa: BLE001 - a bad photo is just 'nothing found'
        return None
    return found[0].text if found else None


def yuan(fen: int) -> str:
    from core.validate import format_yuan

    return format_yuan(fen)


def guest_lines(g: dict) -> list[str]:
    """A guest's details for a staff desk (full data), escaped."""
    group = tr(f"group.{g['group']}") if g.get("group") else ""
    out = [f"{esc(g['phone'])} · {esc(g['plates'] or tr('ui.no_plate'))}",
           f"{tr('ui.party_size')}: {g['party_size']} · {tr('ui.advisor')}: {esc(g['advisor'] or '—')} · {esc(group)}"]
    return out
