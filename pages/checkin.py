"""来店签到: scan (keyboard-wedge scanner), camera photo, search, walk-ins, party size, undo."""
import streamlit as st

from core import checkin
from core.errors import DeskError
from pages.common import (answered, counters_strip, decode_photo, desk_action, engine, esc, focus_scanner, guest_lines, refusal_text,
                          require_station, scan_nonce, tr, verdict)

station = require_station("checkin")
eng = engine()
ss = st.session_state


def show(result: dict) -> None:
    ss["checkin_result"] = result
    answered()


def handle(raw: str = "", invitation_id: int | None = None) -> None:
    """One scan, typed search or pick from the list; the answer goes to the verdict area."""
    ss["checkin_matches"] = []
    try:
        if invitation_id is not None:
            v = checkin.check_in(eng, event_id=station.event_id, invitation_id=invitation_id, desk=station.desk,
                                 staff_id=station.staff_id)
        else:
            v = checkin.scan(eng, event_id=station.event_id, raw=raw, desk=station.desk, staff_id=station.staff_id,
                             nonce=scan_nonce(station.desk, raw))
        if v["status"] == "choose":
            ss["checkin_matches"] = v["matches"]
            show({"kind": "blue", "title": tr("checkin.pick"), "lines": [tr("reason.ambiguous")]})
        else:
            show({"kind": "green", "title": tr("checkin.welcome", name=esc(v["name"] or v["phone"])),
                  "lines": guest_lines(v), "guest": v})
    except DeskError as e:
        if e.reason == "already_checked_in":
            g = e.info["guest"]
            show({"kind": "amber", "title": tr("checkin.already"),
                  "lines": [tr("reason.already_checked_in", at=e.info["at"], desk=esc(e.info["desk"])),
                            esc(g["name"]), *guest_lines(g)], "guest": g})
        else:
            show({"kind": "red", "title": tr("checkin.refused"), "lines": [esc(refusal_text(e))]})
    except Exception:  # noqa: BLE001 - the desk shows a plain message, never a traceback
        import logging

        logging.getLogger("renewday").exception("check-in failed")
        show({"kind": "red", "title": tr("checkin.refused"), "lines": [tr("reason.unexpected")]})


def on_scan() -> None:
    raw = ss.get("checkin_scan", "") or ""
    ss["checkin_scan"] = ""
    if raw.strip():
        handle(raw)


st.title(tr("page.checkin"))


@st.fragment
def desk() -> None:
    """Counters, scanner and verdict: a scan reruns only this part of the page."""
    c = checkin.counters(eng, station.event_id)
    counters_strip([(tr("checkin.arrived"), f"{c['arrived']} {tr('ui.batches')}", tr("checkin.people", n=c["people"])),
                    (tr("checkin.confirmed"), c["confirmed"], ""), (tr("checkin.invited"), c["invited"], ""),
                    (tr("checkin.walk_ins"), c["walk_ins"], "")])

    st.text_input(tr("checkin.scan_label"), key="checkin_scan", on_change=on_scan,
                  placeholder=tr("checkin.scan_placeholder"))
    focus_scanner("checkin_scan")

    with st.container(key="checkin_verdict"):
        result = ss.get("checkin_result")
        if result:
            verdict(result["kind"], result["title"], result.get("lines", []))
        else:
            verdict("blue", tr("checkin.ready"), [tr("checkin.ready_hint")])

    for m in ss.get("checkin_matches", []):
        label = f"{m['name']} · {m['phone']} · {m['plates'] or tr('ui.no_plate')}"
        if m["checked_in_at"]:
            label += f" · {tr('checkin.already')} {m['checked_in_at']}"
        st.button(label, key=f"pick_{m['invitation_id']}", on_click=handle, kwargs={"invitation_id": m["invitation_id"]})

    guest = (result or {}).get("guest") if result else None
    if guest:
        with st.expander(tr("checkin.correct_party")):
            size = st.number_input(tr("ui.party_size"), min_value=1, max_value=10, value=int(guest["party_size"]),
                                   step=1, key=f"party_{guest['invitation_id']}")
            if st.button(tr("ui.save"), key="party_save"):
                with desk_action():
                    checkin.set_party_size(eng, invitation_id=guest["invitation_id"], size=int(size), desk=station.desk,
                                           staff_id=station.staff_id)
                    guest["party_size"] = int(size)
                    st.success(tr("ui.saved"))
        if station.is_manager:
            with st.expander(tr("checkin.undo")):
                reason = st.text_input(tr("ui.reason"), key="undo_reason")
                if st.button(tr("checkin.undo"), key="undo_do"):
                    with desk_action():
                        checkin.undo_check_in(eng, invitation_id=guest["invitation_id"], reason=reason,
                                              desk=station.desk, staff_id=station.staff_id)
                        ss.pop("checkin_result", None)
                        st.success(tr("checkin.undone"))


desk()

with st.expander(tr("checkin.camera")):
    photo = st.camera_input(tr("checkin.camera_hint"), key="checkin_camera")
    if photo is not None and ss.get("checkin_photo_seen") != photo.file_id:
        ss["checkin_photo_seen"] = photo.file_id
        text = decode_photo(photo)
        if text:
            handle(text)
            st.rerun()
        else:
            st.warning(tr("checkin.camera_nothing"))

with st.expander(tr("checkin.walk_in")):
    with st.form("walk_in", clear_on_submit=True):
        name = st.text_input(tr("ui.name"))
        phone = st.text_input(tr("ui.phone"))
        plate = st.text_input(tr("ui.plate"), placeholder="粤B·12345")
        source = st.selectbox(tr("checkin.source"), list(checkin.WALK_IN_SOURCES), format_func=lambda c: tr(f"source.{c}"))
        party = st.number_input(tr("ui.party_size"), min_value=1, max_value=10, value=1, step=1)
        consent = st.checkbox(tr("checkin.consent"))
        if st.form_submit_button(tr("checkin.register"), type="primary"):
            try:
                v = checkin.register_walk_in(eng, event_id=station.event_id, name=name, phone=phone, plate=plate,
                                             source=source, consent=consent, party_size=int(party), desk=station.desk,
                                             staff_id=station.staff_id)
                show({"kind": "green", "title": tr("checkin.welcome", name=esc(v["name"])),
                      "lines": [*guest_lines(v), tr("checkin.walk_in_code", code=v["code"])], "guest": v})
                st.rerun()
            except DeskError as e:
                st.error(refusal_text(e))
