"""UI helpers shared by the pages: the engine, the station, translations, verdicts, the scanner box.

Pages stay thin: they call core and show what it answers. Nothing here decides a rule."""
from __future__ import annotations

import html
import json
import logging
import os
import threading
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
    "setup": ("manager",), "import": ("manager",), "finance": ("manager",), "audit": ("manager",),
    "worklist": ("advisor", "sa", "sales", "service", "telesales", "manager"), "report": ("manager",),
    "results": ("manager",),
}
DESK_HOME = {"签到": "checkin", "收银": "cashier", "礼品": "gifts"}  # a desk lands on its own page


def home_page(desk: str, allowed: list[str]) -> str:
    """The page a station lands on: its desk's page when its role may open it, else the first allowed."""
    for prefix, name in DESK_HOME.items():
        if desk.startswith(prefix) and name in allowed:
            return name
    return allowed[0]


@st.cache_resource
def _engine(url: str):
    from core.backup import start_scheduler

    engine = get_engine(url)
    migrate.upgrade(engine)
    start_scheduler(engine)  # a copy of the store every 5 minutes during an event (SQLite)
    return engine


def engine():
    """One engine per process and URL (the store is migrated on first use)."""
    return _engine(settings().database_url)


@st.cache_resource
def _notifier(url: str):
    from core import notify

    return notify.start(_engine(url))


def start_notifier():
    """The process's background WeCom notifier for this store (core.notify), started once."""
    try:
        return _notifier(settings().database_url)
    except Exception:  # noqa: BLE001 - the notifier is optional; a desk must come up without it
        log.exception("notifier did not start")
        return None


def lang() -> str:
    """The station's language, chosen at sign-in and kept on every page; before sign-in, the sign-in page's choice."""
    s = station()
    if s is not None:
        return s.lang
    return st.session_state.get("signin_lang", settings().lang)


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
    lang: str = "zh-CN"
    token: str = ""

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"


def station() -> Station | None:
    return st.session_state.get("station")


# --- a station survives a reload and a server restart: a signed token in a cookie (core.stations) ---

def _key() -> bytes:
    from core import stations

    return stations.secret_key(settings().data_dir)


def start_station(*, staff_id: int, staff_name: str, role: str, desk: str, event_id: int, event_name: str,
                  event_date, lang_code: str) -> Station:
    """Sign-in: the station in this session, and a signed token for the browser to keep."""
    from core import stations

    token = stations.issue(key=_key(), staff_id=staff_id, desk=desk, event_id=event_id, lang=lang_code,
                           expires=stations.expiry_for(event_date))
    s = Station(staff_id=staff_id, staff_name=staff_name, role=role, desk=desk, event_id=event_id,
                event_name=event_name, lang=lang_code, token=token)
    st.session_state["station"] = s
    return s


def restore_station() -> Station | None:
    """A new session (a reload, a restart): the station from the browser's token, if it is still good."""
    s = station()
    if s is not None or st.session_state.get("signed_out"):
        return s
    from core import stations

    try:
        token = st.context.cookies.get(stations.COOKIE)
    except Exception:  # noqa: BLE001 - no browser (AppTest, bare mode): nothing to restore
        token = None
    if not token:
        return None
    who = stations.restore(engine(), token, key=_key())
    if who is None:
        return None
    s = Station(**{k: who[k] for k in ("staff_id", "staff_name", "role", "desk", "event_id", "event_name", "lang")},
                token=token)
    st.session_state["station"] = s
    st.session_state["cookie_sent"] = token
    return s


def set_station_lang() -> None:
    """The sidebar's language switch: the station keeps it, and so does its token."""
    from core import stations
    from core.models import Event
    from core.store import read_session

    s = station()
    if s is None:
        return
    with read_session(engine()) as db:
        event = db.get(Event, s.event_id)
    s.lang = st.session_state.get("station_lang", s.lang)
    s.token = stations.issue(key=_key(), staff_id=s.staff_id, desk=s.desk, event_id=s.event_id, lang=s.lang,
                             expires=stations.expiry_for(event.event_date))


def sign_out() -> None:
    """Audit the sign-out, revoke the token, forget every desk's state; the browser's cookie is
    removed on the next run."""
    from core import security, stations

    s = station()
    if s is not None:
        try:
            security.sign_out(engine(), staff_id=s.staff_id, desk=s.desk, event_id=s.event_id)
        except Exception:  # noqa: BLE001 - the station is signed out anyway
            log.exception("sign-out audit failed")
    if s is not None and s.token:
        try:
            stations.revoke(engine(), s.token, key=_key())
        except Exception:  # noqa: BLE001 - the cookie is removed anyway
            log.exception("token revoke failed")
    clear_desk_state()
    st.session_state["signed_out"] = True


def sync_cookie() -> None:
    """Keep the browser's cookie in step with the station: set after sign-in, removed after sign-out."""
    from core import stations

    s = station()
    want = s.token if s is not None else ""
    sent = st.session_state.get("cookie_sent")
    if sent == want:
        return
    if sent is None and not want:  # a fresh session nobody signed in to: only a stale cookie needs removing
        try:
            has = st.context.cookies.get(stations.COOKIE)
        except Exception:  # noqa: BLE001 - no browser
            has = None
        if not has:
            st.session_state["cookie_sent"] = ""
            return
    st.session_state["cookie_sent"] = want
    value = f"{stations.COOKIE}={want}; path=/; SameSite=Strict" + ("; max-age=172800" if want else "; max-age=0")
    st.html(f"<script>(window.parent || window).document.cookie = {json.dumps(value)};</script>",
            unsafe_allow_javascript=True)


def require_station(page: str) -> Station:
    """The signed-in station, or a plain message and stop."""
    s = station()
    if s is None:
        st.warning(tr("ui.sign_in_first"))
        st.stop()
    from core.security import still_signed_in

    if not still_signed_in(engine(), s.staff_id):  # deactivated by the manager since signing in
        st.session_state.pop("station", None)
        st.warning(tr("ui.sign_in_first"))
        st.stop()
    allowed = DESK_ROLES.get(page)
    if allowed and s.role not in allowed:
        st.error(tr("reason.not_manager") if allowed == ("manager",) else tr("ui.role_not_allowed"))
        st.stop()
    return s


def refusal_text(e: DeskError) -> str:
    """A refusal in the station's language. Core names fields by code (field='compulsory'): worded here.
    Stored text in the info (a name, a prize) is escaped for Markdown and HTML."""
    from core.i18n import catalog

    raw = {k: v for k, v in e.info.items() if isinstance(v, (str, int, float))}
    info = {k: esc(v) if isinstance(v, str) else v for k, v in raw.items()}
    for k in ("field", "what"):
        if isinstance(raw.get(k), str) and f"field.{raw[k]}" in catalog("zh-CN"):
            info[k] = tr(f"field.{raw[k]}")
    if e.reason == "out_of_stock":
        info["hint"] = (tr("gifts.hint_substitute", name=info.get("substitute"), left=info.get("left"))
                        if info.get("substitute") else tr("gifts.hint_restock"))
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


def scan_to_guest(prefix: str, event_id: int, clear: tuple[str, ...] = ()) -> None:
    """A desk's scanner box (key `{prefix}_scan`): one guest found → `{prefix}_guest`; several →
    `{prefix}_matches` to pick from; none → `{prefix}_msg` with the reason. The box is cleared, and
    so is everything the desk showed for the previous guest (`{prefix}_guest`, `{prefix}_done`, the
    keys in `clear`); `{prefix}_form` counts scans so the desk's form starts empty for the new guest;
    `{prefix}_scanned` says what was scanned and when, `{prefix}_sound` which sound answers it."""
    from core import checkin

    ss = st.session_state
    raw = (ss.get(f"{prefix}_scan") or "").strip()
    ss[f"{prefix}_scan"] = ""
    if not raw:
        return
    ss[f"{prefix}_matches"], ss[f"{prefix}_msg"] = [], None
    for key in (f"{prefix}_guest", f"{prefix}_done", *clear):
        ss.pop(key, None)
    ss[f"{prefix}_form"] = ss.get(f"{prefix}_form", 0) + 1
    ss[f"{prefix}_scanned"] = scanned_line(raw)
    answered()
    try:
        matches = checkin.find_guest(engine(), event_id=event_id, raw=raw, desk=station().desk, staff_id=station().staff_id)
    except DeskError as e:
        ss[f"{prefix}_msg"], ss[f"{prefix}_sound"] = refusal_text(e), "red"
        return
    if len(matches) == 1:
        ss[f"{prefix}_guest"], ss[f"{prefix}_sound"] = matches[0]["invitation_id"], "green"
    else:
        ss[f"{prefix}_matches"], ss[f"{prefix}_sound"] = matches, "amber"


DESK_STATE_PREFIXES = ("checkin_", "cashier_", "gift_", "walk_", "party_", "undo_", "answer_seq", "pick_", "cpick_",
                       "gpick_", "void_", "inv_", "invbtn_", "import_", "cards_",
                       # the manager's pages: finance filters, audit filters and its export, staff editing
                       "fin_", "audit_", "staff_", "merge_", "adv_", "dl_", "signin_pin", "nonce_")


def clear_desk_state() -> None:
    """Sign-out: nothing of the last guest or the last person stays on the tablet."""
    for key in list(st.session_state.keys()):
        if key in ("station", "station_lang", "desk_sound") or key.startswith(DESK_STATE_PREFIXES):
            del st.session_state[key]


_MD = str.maketrans({c: f"&#{ord(c)};" for c in "\\`*_[]#~$:|"})


def esc(value) -> str:
    """A name or any stored text shown as itself in st.html AND in Markdown (st.markdown,
    st.subheader, st.success…): HTML escaped, and Markdown's link, image, emphasis, code, math
    and :colour[] characters written as entities (an image URL in a name made browsers fetch it)."""
    return html.escape(str(value if value is not None else "")).translate(_MD)


def verdict(kind: str, title: str, lines: list[str] = (), key: str = "verdict", foot: str = "") -> None:
    """The big verdict that fills the desk: green, amber or red. Values are escaped by the caller;
    `foot` says what was scanned and when, so staff see the answer is for this guest."""
    colours = {"green": ("#0b7a3b", "#e8f7ee"), "amber": ("#a15c00", "#fff4e0"), "red": ("#b3261e", "#fdecea"),
               "blue": ("#1a4fa0", "#eaf1fd")}
    fg, bg = colours[kind]
    body = "".join(f"<div style='font-size:clamp(1.1rem,4vw,1.6rem);margin-top:.3rem'>{line}</div>" for line in lines)
    st.html(f"<div class='rd-verdict rd-{kind}' style='border:6px solid {fg};background:{bg};color:{fg};"
            f"border-radius:18px;padding:clamp(.8rem,3vw,1.4rem) clamp(1rem,4vw,1.8rem);'>"
            f"<div style='font-size:clamp(1.8rem,7vw,3.2rem);font-weight:800;line-height:1.2'>{title}</div>"
            f"{body}{f'<div class=rd-scanned style=font-size:1rem;margin-top:.6rem;opacity:.8>{foot}</div>' if foot else ''}</div>")


def scanned_line(raw: str, at: str | None = None) -> str:
    """'扫码 ABC… · 14:03:22': what a desk answered to, and when (escaped)."""
    from core.clock import now

    return tr("desk.scanned", raw=esc((raw or "").strip()[:40]), at=at or now().strftime("%H:%M:%S"))


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


SCANNER_JS = r"""
(function () {
  const w = window.parent || window, doc = w.document;
  const GAP = 50, HOLD = 150, MIN = 4;  // a scanner types its characters a few ms apart; a person does not
  function install() {
    const S = {key: null, seq: null, token: null, soundOn: true, queue: [], busy: false, buf: "", held: "", last: 0,
               burst: false, snap: null, timer: null, beeps: 0};
    const box = () => S.key && doc.querySelector(".st-key-" + S.key + " input");
    const editable = (el) => el && ((el.tagName === "INPUT" && !/^(checkbox|radio|button|submit|range|file)$/.test(el.type))
                                    || el.tagName === "TEXTAREA" || el.isContentEditable);
    function setValue(el, v) {
      const proto = el.tagName === "TEXTAREA" ? w.HTMLTextAreaElement.prototype : w.HTMLInputElement.prototype;
      Object.getOwnPropertyDescriptor(proto, "value").set.call(el, v);
      el.dispatchEvent(new Event("input", {bubbles: true}));
    }
    function reset() { clearTimeout(S.timer); S.buf = ""; S.held = ""; S.burst = false; S.snap = null; }
    function release() {  // a run that did not end in Enter: what was held back goes where it was typed
      const held = S.held, snap = S.snap;
      reset();
      if (!held) return;
      const el = snap && snap.el.isConnected ? snap.el : box();
      if (el) setValue(el, el.value + held);
    }
    function pump() {  // one scan at a time: the next goes in once the page has answered the last
      if (S.busy || !S.queue.length) return;
      const b = box();
      if (!b) { setTimeout(pump, 100); return; }
      const item = S.queue.shift(), before = S.seq;
      S.busy = true;
      b.focus();
      setValue(b, item);
      setTimeout(() => {
        (box() || b).dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", code: "Enter", keyCode: 13, which: 13,
                                                                 bubbles: true, cancelable: true}));
        const started = performance.now();
        (function wait() {
          if (S.seq !== before || performance.now() - started > 10000) { S.busy = false; pump(); return; }
          setTimeout(wait, 20);
        })();
      }, 0);
    }
    w.addEventListener("keydown", (e) => {
      if (!e.isTrusted || !box()) return;
      if (e.isComposing || e.key === "Process" || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.timeStamp, a = doc.activeElement;  // when the key was pressed, not when handled
      if (e.key === "Enter") {
        if (S.burst && S.buf.length >= MIN && t - S.last <= HOLD) {  // the end of a scan: never a click or a submit
          e.preventDefault(); e.stopImmediatePropagation();
          if (S.snap && S.snap.el.isConnected && S.snap.el.value !== S.snap.value) setValue(S.snap.el, S.snap.value);
          S.queue.push(S.buf); reset(); pump();
        } else if (S.held) { release(); }
        else reset();
        return;
      }
      if (e.key.length !== 1) {  // Shift comes inside a burst (capitals); Tab, arrows… end a run
        if (!/^(Shift|CapsLock)$/.test(e.key)) { if (S.held) release(); else reset(); }
        return;
      }
      if (S.snap && a !== S.snap.el && S.buf && !S.burst && !S.held) reset();  // the focus moved on
      if (S.buf && t - S.last <= (S.burst ? HOLD : GAP)) {
        S.buf += e.key; S.last = t;
        S.burst = S.burst || S.buf.length >= 3;  // three characters this fast: a scanner, not a person
        if (S.burst || S.held) {  // keep it out of whatever has the focus
          e.preventDefault(); e.stopImmediatePropagation();
          S.held += e.key;
          clearTimeout(S.timer);
          S.timer = setTimeout(release, 1500);  // a fast typist who paused: their characters, where they typed
        }
        return;
      }
      if (S.held) release(); else reset();
      if (e.key === " " && !editable(a)) return;  // a person pressing Space on a button or a radio
      S.buf = e.key; S.last = t;
      if (S.busy && (!editable(a) || a === box())) {
        // the scan box is being fed the previous scan (its Enter not yet handled by the page): a key
        // now must not land in it, or the next burst's first characters glue onto the last code
        e.preventDefault(); e.stopImmediatePropagation();
        S.held = e.key; S.snap = null;  // nothing to restore: the box holds the scan being fed
        clearTimeout(S.timer); S.timer = setTimeout(release, 1500);
        return;
      }
      if (editable(a)) { S.snap = {el: a, value: a.value}; return; }
      // typing on a button, a tab, the page: it goes to the scan box (no hotkey, no click)
      e.preventDefault(); e.stopImmediatePropagation();
      const b = box();
      S.snap = {el: b, value: b.value};
      b.focus();
      setValue(b, b.value + e.key);
    }, true);
    function beep(kind) {
      try {
        S.ac = S.ac || new (w.AudioContext || w.webkitAudioContext)();
        const notes = {green: [880, 1320], amber: [660, 660], red: [220, 180]}[kind] || [];
        let at = S.ac.currentTime;
        for (const f of notes) {
          const o = S.ac.createOscillator(), g = S.ac.createGain();
          o.type = kind === "red" ? "square" : "sine"; o.frequency.value = f;
          g.gain.setValueAtTime(0.12, at); g.gain.exponentialRampToValueAtTime(0.001, at + 0.14);
          o.connect(g); g.connect(S.ac.destination); o.start(at); o.stop(at + 0.15); at += 0.16;
        }
      } catch (err) { /* no audio device: the colour still says it */ }
      doc.body.dataset.rdBeep = kind + ":" + (++S.beeps);
    }
    S.configure = (cfg) => {
      const fresh = S.seq !== null && cfg.seq !== S.seq;
      S.key = cfg.key; S.seq = cfg.seq; S.soundOn = cfg.soundOn;
      doc.body.dataset.rdSeq = String(cfg.seq);
      if (fresh && cfg.sound && cfg.soundOn) beep(cfg.sound);
      let tries = 0;
      (function place() {  // the cursor to the box on arrival and after each answer, never from a field in use
        const b = box();
        if (!b) { if (tries++ < 60) requestAnimationFrame(place); return; }
        const a = doc.activeElement;
        if (a && a !== b && editable(a) && !fresh) return;
        if (S.token !== cfg.token || !a || a === doc.body) { S.token = cfg.token; if (!S.busy) b.focus(); }
      })();
    };
    return S;
  }
  w.__rdScanner = w.__rdScanner || install();
  w.__rdScanner.configure(__CFG__);
})();
"""


def scanner(key: str, sound: str | None = None) -> None:  # noqa: C901
    """The desk's scanner, wherever the focus is: a burst of characters ending in Enter (a keyboard-
    wedge scanner) goes to the box `key` (never into another field, never clicking a button or
    submitting a form), bursts are queued and handled one after the other; a person typing by hand
    is left alone. Also: the cursor to the box on arrival and after each answer, and a short sound
    for the latest answer (`sound`: green / amber / red) unless the desk turned sound off.
    Call it LAST on the page (or fragment): the next queued scan goes in once this has rendered."""
    seq = st.session_state.get("answer_seq", 0)
    cfg = {"key": key, "seq": seq, "token": f"{key}:{seq}", "sound": sound or "",
           "soundOn": bool(st.session_state.get("desk_sound", True))}
    st.html("<script>" + SCANNER_JS.replace("__CFG__", json.dumps(cfg)) + "</script>", unsafe_allow_javascript=True)


focus_scanner = scanner  # the old name

CHROME_ZH = {  # Streamlit's own English words, as they appear on a desk; see README for what stays English
    "Take Photo": "拍照", "Clear photo": "重拍", "Switch camera": "切换摄像头", "Browse files": "选择文件",
    "Upload": "上传", "Drag and drop file here": "把文件拖到这里", "Drag and drop files here": "把文件拖到这里",
    "Press Enter to apply": "按回车确认", "Press Enter to submit form": "按回车提交", "Choose an option": "请选择",
    "No results": "没有匹配项", "Connecting": "正在连接…", "Connection error": "连接中断，正在重连…",
    "Please wait...": "请稍候…", "Running...": "处理中…", "Stop": "停止", "Rerun": "刷新",
    "This app would like to use your camera.": "需要使用摄像头：请在浏览器提示中允许。",
    "Learn how to allow access.": "如何允许使用摄像头",
}
_CHROME_JS = r"""
(function () {
  const w = window.parent || window, doc = w.document;
  w.__rdChrome = __MAP__;
  if (w.__rdChromeOn) return;
  w.__rdChromeOn = true;
  const per = /^(\d+(?:\.\d+)?\s*[KMG]B) per file$/;
  function fix(node) {
    const map = w.__rdChrome;
    if (!map) return;
    const walker = doc.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const t = n.nodeValue.trim();
      if (!t || t.length > 60) continue;
      if (map[t]) n.nodeValue = n.nodeValue.replace(t, map[t]);
      else if (per.test(t) && map.__per) n.nodeValue = t.replace(per, map.__per);
    }
  }
  new MutationObserver((muts) => { for (const m of muts) fix(m.target.nodeType === 3 ? m.target.parentNode : m.target); })
    .observe(doc.body, {subtree: true, childList: true, characterData: true});
  fix(doc.body);
})();
"""


def chrome_texts() -> None:
    """Streamlit's own chrome (camera and upload buttons, connection status…) in Chinese where the
    station speaks Chinese: the words are swapped in the page as they appear."""
    mapping = {**CHROME_ZH, "__per": "单个文件不超过 $1"} if lang() == "zh-CN" else None
    st.html("<script>" + _CHROME_JS.replace("__MAP__", json.dumps(mapping, ensure_ascii=False)) + "</script>",
            unsafe_allow_javascript=True)


def scan_nonce(desk: str, raw: str) -> str:
    """Same code, same desk, same second: a retried request acts once."""
    return f"{desk}|{raw.strip().upper()}|{int(time.time())}"


def form_nonce(form: str) -> str:
    """The nonce of the form as it is shown now: made when the form is first drawn, kept across
    reruns until the action it guards succeeds (spend_nonce). A double click, or a request the
    browser retries, carries the same nonce and acts once (core replays the first answer).
    Key the form or its submit button with it, so a form already answered cannot submit again."""
    key = f"nonce_{form}"
    if key not in st.session_state:
        import secrets

        st.session_state[key] = f"{form}|{secrets.token_hex(12)}"
    return st.session_state[key]


def spend_nonce(form: str) -> None:
    """The guarded action succeeded: the next showing of the form gets a fresh nonce."""
    st.session_state.pop(f"nonce_{form}", None)


def nonce_tag(nonce: str) -> str:
    """The part of a nonce to put in a form's or a button's key (letters and digits only)."""
    return nonce.rsplit("|", 1)[-1]


def void_form(renewals: list[dict], *, prefix: str) -> None:
    """作废 (manager), the same form on the cashier desk and on 财务汇总: one submit acts once. The form
    is keyed by its nonce: a double click or a retried request replays the first answer (the same
    green line, never 'already voided'), and once it is answered the old form cannot submit again."""
    from core import cashier

    ss, s = st.session_state, station()
    done = ss.get(f"{prefix}_done")
    if done:
        st.success(tr("cashier.voided", receipt_no=esc(done["receipt_no"]), gifts=done["reclaim_gifts"],
                      prizes=done["reclaim_prizes"]))
    nonce = form_nonce(prefix)
    tag = nonce_tag(nonce)
    with st.form(f"{prefix}_{tag}"):  # a form: leaving a field does not rerun; Enter submits
        choice = st.selectbox(tr("cashier.void_which"), renewals, index=None, placeholder=tr("cashier.choose"),
                              key=f"{prefix}_which_{tag}",
                              format_func=lambda r: f"{r['receipt_no']} · {r['name']} · {r['plate']} · ￥{yuan(r['total_fen'])}")
        reason = st.text_input(tr("ui.reason"), key=f"{prefix}_reason_{tag}")
        submitted = st.form_submit_button(tr("cashier.void"), type="primary")
    if submitted:
        ss.pop(f"{prefix}_done", None)
        with desk_action():
            out = cashier.void_renewal(engine(), renewal_id=choice["renewal_id"] if choice else None, reason=reason,
                                       desk=s.desk, staff_id=s.staff_id, nonce=nonce)
            spend_nonce(prefix)  # answered: the next void is a new form
            ss[f"{prefix}_done"] = out
            st.rerun()


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


# --- downloads holding personal data -------------------------------------------------------
_MEDIA_EXPIRY: dict[str, float] = {}  # media file id -> when it goes
_MEDIA_LOCK = threading.Lock()


def private_download(label: str, data, *, file_name: str, mime: str, key: str, **kwargs) -> None:
    """A download of personal data (invitation sheet, cards, finance, audit, results books).

    Streamlit serves a download at a /media URL that needs no session, for as long as the page
    shows the button. Here the button carries no URL: the file is made (or handed over) only
    on the click, through the page's own websocket session (Streamlit's deferred download), and
    the URL Streamlit then serves it at is dropped `RENEWDAY_DOWNLOAD_TTL_S` (default 20) seconds
    later; the browser fetches it at once. `data`: bytes, or a function making them (it runs
    outside the page's run: pass everything it needs, e.g. the language, as values)."""
    make = data if callable(data) else (lambda: data)
    ttl = float(os.environ.get("RENEWDAY_DOWNLOAD_TTL_S", "20"))

    def on_click_data() -> bytes:
        body = make()
        body = body.encode() if isinstance(body, str) else bytes(body)
        _expire_media(body, mime, file_name, ttl)
        return body

    st.download_button(label, on_click_data, file_name=file_name, mime=mime, key=key, on_click="ignore", **kwargs)


def _expire_media(body: bytes, mime: str, file_name: str, ttl: float) -> None:
    # the id Streamlit's in-memory media storage gives these bytes (streamlit==1.67 pinned)
    from streamlit.runtime.memory_media_file_storage import _calculate_file_id

    file_id = _calculate_file_id(body, mime, file_name)
    with _MEDIA_LOCK:
        _MEDIA_EXPIRY[file_id] = time.monotonic() + ttl
    timer = threading.Timer(ttl, _drop_media, args=(file_id,))
    timer.daemon = True
    timer.start()


def _drop_media(file_id: str) -> None:
    from streamlit import runtime

    with _MEDIA_LOCK:
        due = _MEDIA_EXPIRY.get(file_id)
        if due is None or time.monotonic() < due - 0.05:  # clicked again meanwhile: that click's timer drops it
            return
        del _MEDIA_EXPIRY[file_id]
    if not runtime.exists():
        return
    mgr = runtime.get_instance().media_file_mgr
    try:
        with mgr._lock:  # noqa: SLF001 - Streamlit has no public call to drop one file
            shown = any(file_id in refs.values() for refs in mgr._files_by_session_and_coord.values())  # noqa: SLF001
            if file_id in mgr._file_metadata and not shown:  # noqa: SLF001
                mgr._delete_file(file_id)  # noqa: SLF001
    except Exception:  # noqa: BLE001 - Streamlit's own cleanup still drops it later
        log.exception("could not drop a download's media file")
