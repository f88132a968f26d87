"""来店签到: scan (keyboard-wedge scanner), camera photo, search, walk-ins, party size, undo."""
import streamlit as st

from core import checkin
from core.errors import DeskError
from pages.common import (answered, counters_strip, decode_photo, desk_action, engine, esc, form_nonce, guest_lines,
                          nonce_tag, refusal_text, require_station, scan_nonce, scanned_line, scanner, spend_nonce, tr,
                          verdict)

station = require_station("checkin")
eng = engine()
ss = st.session_state
WALK_FIELDS = ("name", "phone", "plate", "source", "party", "consent")
FIELD_OF_REASON = {"name_missing": "name", "name_invalid": "name", "phone_invalid": "phone", "plate_invalid": "plate",
                   "party_size_invalid": "party", "source_invalid": "source"}


def show(result: dict, sound: str | None = None) -> None:
    """The verdict area now shows this answer (and only this one)."""
    ss["checkin_result"] = result
    ss["checkin_sound"] = sound if sound is not None else result["kind"]
    answered()


def verdict_of(v: dict, raw: str) -> dict:
    return {"kind": "green", "title": tr("checkin.welcome", name=esc(v["name"] or v["phone"])), "guest": v,
            "foot": scanned_line(raw)}


def lines_of(result: dict) -> list[str]:
    """The verdict's lines; the guest's are drawn from the guest as it is now (party size saved…)."""
    guest = result.get("guest")
    return [*result.get("lines", []), *(guest_lines(guest) if guest else []), *result.get("post", [])]


def handle(raw: str = "", invitation_id: int | None = None, label: str = "") -> None:
    """One scan, typed search or pick from the list; the answer replaces whatever the desk showed."""
    if ss.get("walk_error"):  # the walk-in form's old refusal goes too (outside this fragment: a full rerun)
        ss["walk_error"], ss["checkin_full_rerun"] = None, True
    ss["checkin_matches"] = []
    shown = raw or label
    try:
        if invitation_id is not None:
            v = checkin.check_in(eng, event_id=station.event_id, invitation_id=invitation_id, desk=station.desk,
                                 staff_id=station.staff_id)
        else:
            v = checkin.scan(eng, event_id=station.event_id, raw=raw, desk=station.desk, staff_id=station.staff_id,
                             nonce=scan_nonce(station.desk, raw))
        if v["status"] == "choose":
            ss["checkin_matches"] = v["matches"]
            show({"kind": "blue", "title": tr("checkin.pick"), "lines": [tr("reason.ambiguous")],
                  "foot": scanned_line(shown)}, sound="amber")
        else:
            show(verdict_of(v, shown))
    except DeskError as e:
        if e.reason == "already_checked_in":
            g = e.info["guest"]
            show({"kind": "amber", "title": tr("checkin.already"),
                  "lines": [tr("reason.already_checked_in", at=e.info["at"], desk=esc(e.info["desk"])), esc(g["name"])],
                  "guest": g, "foot": scanned_line(shown)})
        else:
            show({"kind": "red", "title": tr("checkin.refused"), "lines": [refusal_text(e)],
                  "foot": scanned_line(shown)})
    except Exception:  # noqa: BLE001 - the desk shows a plain message, never a traceback
        import logging

        logging.getLogger("renewday").exception("check-in failed")
        show({"kind": "red", "title": tr("checkin.refused"), "lines": [tr("reason.unexpected")],
              "foot": scanned_line(shown)})


def on_scan() -> None:
    raw = ss.get("checkin_scan", "") or ""
    ss["checkin_scan"] = ""
    if raw.strip():
        handle(raw)


def save_party(guest: dict, key: str, nonce: str) -> None:
    """The nonce was made when the button was drawn: a double click saves once."""
    with desk_action():
        checkin.set_party_size(eng, invitation_id=guest["invitation_id"], size=int(ss[key]), desk=station.desk,
                               staff_id=station.staff_id, nonce=nonce)
        spend_nonce("party")
        guest["party_size"] = int(ss[key])  # the verdict shows the new size
        ss["checkin_note"] = tr("checkin.party_saved", n=int(ss[key]))
        show(ss["checkin_result"], sound="")


def undo(guest: dict, nonce: str) -> None:
    """The nonce was made when the button was drawn: a second click of a double click replays the first
    answer (the same verdict), never 'not checked in'."""
    with desk_action():
        checkin.undo_check_in(eng, invitation_id=guest["invitation_id"], reason=ss.get("undo_reason", ""),
                              desk=station.desk, staff_id=station.staff_id, nonce=nonce)
        spend_nonce("undo")
        ss["undo_reason"] = ""
        show({"kind": "blue", "title": tr("checkin.undone_title"),
              "lines": [tr("checkin.undone_line", name=esc(guest["name"] or guest["phone"]))],
              "foot": ss["checkin_result"].get("foot", "")}, sound="")


st.title(tr("page.checkin"))


@st.fragment
def desk() -> None:
    """Counters, scanner and verdict: a scan reruns only this part of the page."""
    if ss.pop("checkin_full_rerun", False):
        st.rerun()
    # The scan box, then at once the verdict: on a 1024×768 tablet (and a phone) the answer is in view
    # after a scan without scrolling. The counters come after what the guest in front of the desk needs.
    st.text_input(tr("checkin.scan_label"), key="checkin_scan", on_change=on_scan,
                  placeholder=tr("checkin.scan_placeholder"))

    result = ss.get("checkin_result")
    with st.container(key="checkin_verdict"):
        if result:
            verdict(result["kind"], result["title"], lines_of(result), foot=result.get("foot", ""))
        else:
            verdict("blue", tr("checkin.ready"), [tr("checkin.ready_hint")])

    for m in ss.get("checkin_matches", []):
        label = f"{m['name']} · {m['phone']} · {m['plates'] or tr('ui.no_plate')}"
        if m["checked_in_at"]:
            label += f" · {tr('checkin.already')} {m['checked_in_at']}"
        st.button(label, key=f"pick_{m['invitation_id']}", on_click=handle,
                  kwargs={"invitation_id": m["invitation_id"], "label": m["name"] or m["phone"]})

    guest = (result or {}).get("guest")
    if guest:
        if ss.get("checkin_note"):
            st.success(ss.pop("checkin_note"))
        with st.expander(tr("checkin.correct_party")):
            key = f"party_{guest['invitation_id']}"
            st.number_input(tr("ui.party_size"), min_value=1, max_value=10, value=int(guest["party_size"]), step=1, key=key)
            nonce = form_nonce("party")
            st.button(tr("ui.save"), key=f"party_save_{nonce_tag(nonce)}", on_click=save_party, args=(guest, key, nonce))
        if station.is_manager:
            with st.expander(tr("checkin.undo")):
                st.text_input(tr("ui.reason"), key="undo_reason")
                nonce = form_nonce("undo")
                st.button(tr("checkin.undo"), key=f"undo_do_{nonce_tag(nonce)}", on_click=undo, args=(guest, nonce))
    c = checkin.counters(eng, station.event_id)
    counters_strip([(tr("checkin.arrived"), f"{c['arrived']} {tr('ui.batches')}", tr("checkin.people", n=c["people"])),
                    (tr("checkin.confirmed"), c["confirmed"], ""), (tr("checkin.invited"), c["invited"], ""),
                    (tr("counts.web"), c["web"], ""), (tr("checkin.walk_ins"), c["walk_ins"], ""),
                    (tr("counts.total"), c["total"], tr("counts.total_note"))])
    scanner("checkin_scan", sound=ss.get("checkin_sound"))


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


def register() -> None:
    """The walk-in form's submit: a refusal keeps what was typed and names the field."""
    gen = ss.get("walk_gen", 0)
    val = {f: ss.get(f"walk_{f}_{gen}") for f in WALK_FIELDS}
    ss["walk_error"] = None
    try:
        v = checkin.register_walk_in(eng, event_id=station.event_id, name=val["name"] or "", phone=val["phone"] or "",
                                     plate=val["plate"] or "", source=val["source"] or "", consent=bool(val["consent"]),
                                     party_size=int(val["party"] or 1), desk=station.desk, staff_id=station.staff_id)
    except DeskError as e:
        ss["walk_error"] = (FIELD_OF_REASON.get(e.reason, ""), refusal_text(e))
        return
    except Exception:  # noqa: BLE001
        import logging

        logging.getLogger("renewday").exception("walk-in failed")
        ss["walk_error"] = ("", tr("reason.unexpected"))
        return
    ss["walk_gen"] = gen + 1  # a fresh, empty form for the next walk-in
    ss["checkin_matches"] = []
    show({**verdict_of(v, v["name"]), "post": [tr("checkin.walk_in_code", code=v["code"])],
          "foot": tr("checkin.walk_in_registered")})


with st.expander(tr("checkin.walk_in"), expanded=bool(ss.get("walk_error"))):
    gen = ss.get("walk_gen", 0)
    err_field, err_text = ss.get("walk_error") or ("", "")

    def field_error(name: str) -> None:
        if err_field == name:
            st.error(err_text)

    with st.form(f"walk_in_{gen}", clear_on_submit=False, border=False):
        st.text_input(tr("ui.name"), key=f"walk_name_{gen}")
        field_error("name")
        st.text_input(tr("ui.phone"), key=f"walk_phone_{gen}")
        field_error("phone")
        st.text_input(tr("ui.plate"), placeholder="粤B·12345", key=f"walk_plate_{gen}")
        field_error("plate")
        st.selectbox(tr("checkin.source"), list(checkin.WALK_IN_SOURCES), format_func=lambda c: tr(f"source.{c}"),
                     key=f"walk_source_{gen}")
        field_error("source")
        st.number_input(tr("ui.party_size"), min_value=1, max_value=10, value=1, step=1, key=f"walk_party_{gen}")
        field_error("party")
        st.checkbox(tr("checkin.consent"), key=f"walk_consent_{gen}")
        if err_text and not err_field:
            st.error(err_text)
        st.form_submit_button(tr("checkin.register"), type="primary", on_click=register)
