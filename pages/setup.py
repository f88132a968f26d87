"""活动设置 (manager): the event and its targets, staff, gift stock and draw rules, printers, insurers."""
from datetime import datetime, time

import pandas as pd
import streamlit as st

from core import cashier, gifts, manager, receipts
from core.errors import DeskError
from core.clock import now
from core.events import new_event, update_targets
from core.staff import create_staff, edit_staff, merge_staff, set_pin, staff_rows
from core.models import STAFF_ROLES, Event
from core.store import read_session
from core.validate import parse_yuan
from core.security import DESKS, demo_store
from pages.common import desk_action, engine, esc, refusal_text, require_station, tr, yuan

station = require_station("setup")
eng = engine()
with read_session(eng) as s:
    event = s.get(Event, station.event_id)

st.title(tr("page.setup"))
tab_event, tab_staff, tab_gifts, tab_print, tab_ins = st.tabs(
    [tr("setup.tab_event"), tr("setup.tab_staff"), tr("setup.tab_gifts"), tr("setup.tab_printers"), tr("setup.tab_insurers")])


def yuan_input(label: str, fen: int, key: str) -> str:
    return st.text_input(label, value=yuan(fen).replace(",", ""), key=key)


with tab_event:
    st.subheader(f"{esc(event.name)}（{event.event_date}）")
    with st.form("targets"):
        store = st.text_input(tr("setup.store"), value=event.store_name)
        c1, c2, c3 = st.columns(3)
        arrivals = c1.number_input(tr("setup.target_arrivals"), min_value=0, value=event.target_arrivals, step=10)
        renewals = c2.number_input(tr("setup.target_renewals"), min_value=0, value=event.target_renewals, step=10)
        with c3:
            premium = yuan_input(tr("setup.target_premium"), event.target_premium_fen, "target_premium")
        if st.form_submit_button(tr("ui.save"), type="primary"):
            try:
                update_targets(eng, event.id, target_arrivals=int(arrivals), target_renewals=int(renewals),
                               target_premium_fen=parse_yuan(premium), store_name=store, staff_id=station.staff_id,
                               desk=station.desk)
                st.success(tr("ui.saved"))
            except ValueError as e:
                st.error(tr(f"reason.{e}", field=tr("setup.target_premium")))
            except DeskError as e:
                st.error(refusal_text(e))
    st.subheader(tr("setup.new_event"))
    with st.form("new_event", clear_on_submit=True):
        name = st.text_input(tr("setup.event_name"))
        day = st.date_input(tr("setup.event_date"))
        store_new = st.text_input(tr("setup.store"), value=event.store_name)
        if st.form_submit_button(tr("setup.create")):
            with desk_action():
                new_event(eng, name=name, event_date=day, store_name=store_new, staff_id=station.staff_id,
                          desk=station.desk)
                st.success(tr("setup.created"))

with tab_staff:
    people = staff_rows(eng)

    def access(p: dict) -> str:
        if not p["active"]:
            return tr("staff.inactive")
        if not p["pin_set"]:
            return tr("staff.no_pin")
        if p["locked_until"] and p["locked_until"] > now():
            return tr("staff.locked", until=p["locked_until"].strftime("%H:%M:%S"))
        return "✓"

    st.dataframe(pd.DataFrame([{tr("staff.number"): p["id"], tr("ui.name"): p["name"], tr("setup.role"): tr("role." + p["role"]),
                                tr("setup.team"): p["team"], tr("staff.desk_access"): access(p)} for p in people]),
                 hide_index=True, width="stretch")
    st.caption(tr("staff.pin_rule"))
    with read_session(eng) as s_:
        if demo_store(s_):  # 8888 works here, and only here: say so, so the demo does not contradict the rule
            st.caption(tr("staff.pin_demo"))
    by_id = {p["id"]: p for p in people}
    label = lambda i: f"{by_id[i]['name']} · {tr('role.' + by_id[i]['role'])}"  # noqa: E731
    with st.form("add_staff", clear_on_submit=True):
        st.markdown(f"**{tr('setup.add_staff')}**")
        c1, c2, c3, c4 = st.columns(4)
        nm = c1.text_input(tr("ui.name"))
        role = c2.selectbox(tr("setup.role"), STAFF_ROLES, format_func=lambda r: tr("role." + r))
        team = c3.text_input(tr("setup.team"))
        pin = c4.text_input(tr("setup.pin"), type="password")
        if st.form_submit_button(tr("setup.add_staff")):
            with desk_action():
                create_staff(eng, name=nm, role=role, team=team, pin=pin, desk=station.desk, staff_id=station.staff_id,
                             event_id=event.id)
                st.rerun()
    if people:
        who = st.selectbox(tr("staff.choose"), list(by_id), format_func=label, key="staff_pick")
        p = by_id[who]
        c_edit, c_pin = st.columns(2)
        with c_edit, st.form("edit_staff"):
            st.markdown(f"**{tr('staff.edit')}**")
            e_name = st.text_input(tr("ui.name"), value=p["name"], key=f"staff_name_{who}")
            e_role = st.selectbox(tr("setup.role"), STAFF_ROLES, index=STAFF_ROLES.index(p["role"]),
                                  format_func=lambda r: tr("role." + r), key=f"staff_role_{who}")
            e_team = st.text_input(tr("setup.team"), value=p["team"], key=f"staff_team_{who}")
            e_active = st.checkbox(tr("setup.active"), value=p["active"], key=f"staff_active_{who}")
            if st.form_submit_button(tr("ui.save")):
                with desk_action():
                    edit_staff(eng, target_id=who, name=e_name, role=e_role, team=e_team, active=e_active,
                               desk=station.desk, staff_id=station.staff_id, event_id=event.id)
                    st.rerun()
        with c_pin, st.form("staff_pin", clear_on_submit=True):
            st.markdown(f"**{tr('staff.set_pin')}**")
            new_pin = st.text_input(tr("staff.new_pin"), type="password", key="staff_new_pin")
            again = st.text_input(tr("firstrun.pin_again"), type="password", key="staff_new_pin_again")
            if st.form_submit_button(tr("staff.set_pin")):
                with desk_action():
                    if new_pin != again:
                        raise DeskError("pin_mismatch")
                    set_pin(eng, target_id=who, pin=new_pin, desk=station.desk, staff_id=station.staff_id,
                            event_id=event.id)
                    st.success(tr("staff.pin_saved", name=esc(p["name"])))
        with st.form("merge_staff"):
            st.markdown(f"**{tr('staff.merge')}**")
            st.caption(tr("staff.merge_help"))
            c1, c2 = st.columns(2)
            dup = c1.selectbox(tr("staff.duplicate"), list(by_id), format_func=label, key="merge_dup")
            keep = c2.selectbox(tr("staff.keep"), list(by_id), format_func=label, key="merge_keep")
            if st.form_submit_button(tr("staff.merge")):
                with desk_action():
                    out = merge_staff(eng, duplicate_id=dup, keep_id=keep, desk=station.desk, staff_id=station.staff_id,
                                      event_id=event.id)
                    st.success(tr("staff.merged", n=sum(out["moved"].values())))

with tab_gifts:
    stock = gifts.stock_report(eng, event.id)
    if stock:
        st.dataframe(pd.DataFrame([{tr("setup.gift"): g["name"], tr("setup.kind"): tr("kind." + g["kind"]),
                                    tr("setup.initial"): g["initial"], tr("setup.handed_out"): g["handed_out"],
                                    tr("setup.left"): g["left"], tr("setup.release"): g["release_after"],
                                    tr("setup.low"): "⚠️" if g["low"] else ""} for g in stock]), hide_index=True, width="stretch")
        with st.form("top_up", clear_on_submit=True):
            c1, c2 = st.columns(2)
            which = c1.selectbox(tr("setup.gift"), stock, format_func=lambda g: g["name"])
            add = c2.number_input(tr("setup.add_stock"), min_value=1, value=10, step=1)
            if st.form_submit_button(tr("setup.top_up")):
                with desk_action():
                    gifts.top_up(eng, gift_type_id=which["id"], add=int(add), desk=station.desk, staff_id=station.staff_id)
                    st.rerun()
    with st.form("add_gift", clear_on_submit=True):
        c1, c2, c3, c4 = st.columns(4)
        gname = c1.text_input(tr("setup.gift"))
        kind = c2.selectbox(tr("setup.kind"), ["renewal", "arrival", "prize"], format_func=lambda k: tr("kind." + k))
        count = c3.number_input(tr("setup.initial"), min_value=0, value=0, step=1)
        value = c4.text_input(tr("setup.value"), value="0")
        c5, c6, c7 = st.columns(3)
        sub = c5.selectbox(tr("setup.substitute"), [None] + stock, format_func=lambda g: g["name"] if g else "—")
        low = c6.number_input(tr("setup.low_threshold"), min_value=0, value=0, step=1)
        release = c7.time_input(tr("setup.release"), value=None)
        consolation = st.checkbox(tr("setup.consolation"))
        if st.form_submit_button(tr("setup.add_gift")):
            with desk_action():
                try:
                    value_fen = parse_yuan(value)
                except ValueError as e:
                    raise DeskError(str(e), field=tr("setup.value")) from None
                release_at = datetime.combine(event.event_date, release) if isinstance(release, time) else None
                gifts.add_gift_type(eng, event_id=event.id, name=gname, kind=kind, stock=int(count), value_fen=value_fen,
                                    substitute_id=sub["id"] if sub else None, low_threshold=int(low),
                                    release_after=release_at, is_consolation=consolation, desk=station.desk,
                                    staff_id=station.staff_id)
                st.rerun()
    st.subheader(tr("setup.draw_rules"))
    with st.form("draw_rules"):
        mode = st.radio(tr("setup.draw_mode"), ["box", "odds"], index=0 if event.draw_mode == "box" else 1,
                        format_func=lambda m: tr("setup.mode_" + m), horizontal=True)
        blanks = st.number_input(tr("setup.blanks"), min_value=0, value=event.draw_blank_tickets, step=1)
        extra = st.text_input(tr("setup.extra_draw"), value=yuan(event.extra_draw_per_fen).replace(",", ""))
        arrival_on = st.checkbox(tr("setup.arrival_gift_on"), value=event.arrival_gift_on)
        if st.form_submit_button(tr("ui.save")):
            with desk_action():
                try:
                    extra_fen = parse_yuan(extra)
                except ValueError as e:
                    raise DeskError(str(e), field=tr("setup.extra_draw")) from None
                gifts.set_draw_rules(eng, event_id=event.id, mode=mode, blank_tickets=int(blanks),
                                     extra_draw_per_fen=extra_fen, arrival_gift_on=arrival_on, staff_id=station.staff_id)
                st.success(tr("ui.saved"))

with tab_print:
    desk = st.selectbox(tr("ui.desk"), [d for d in DESKS if d.startswith(("礼品", "收银"))] + [station.desk], key="printer_desk")
    current = receipts.desk_printer(eng, desk)
    with st.form("printer"):
        conns = ["none", "network", "usb", "serial"]
        conn = st.radio(tr("setup.connection"), conns, index=conns.index(current.connection), horizontal=True,
                        format_func=lambda c: tr("setup.conn_" + c))
        c1, c2 = st.columns([3, 1])
        host = c1.text_input(tr("setup.host"), value=current.host, placeholder="192.168.1.50")
        port = c2.number_input(tr("setup.port"), min_value=1, max_value=65535, value=current.port)
        c3, c4, c5 = st.columns(3)
        vendor = c3.text_input("USB VID", value=current.usb_vendor, placeholder="0x0416")
        product = c4.text_input("USB PID", value=current.usb_product, placeholder="0x5011")
        serial = c5.text_input(tr("setup.serial"), value=current.serial_device, placeholder="/dev/ttyUSB0")
        c6, c7, c8 = st.columns(3)
        render = c6.radio(tr("setup.render"), ["text", "image"], index=0 if current.render == "text" else 1,
                          format_func=lambda r: tr("setup.render_" + r))
        paper = c7.radio(tr("setup.paper"), [58, 80], index=0 if current.paper_mm == 58 else 1, format_func=lambda p: f"{p} mm")
        timeout = c8.number_input(tr("setup.timeout"), min_value=0.5, max_value=3.0, value=float(current.timeout_s), step=0.5)
        if st.form_submit_button(tr("ui.save"), type="primary"):
            with desk_action():
                manager.save_printer(eng, staff_id=station.staff_id, desk=station.desk, event_id=event.id,
                                     printer_desk=desk, connection=conn, host=host, port=int(port), usb_vendor=vendor,
                                     usb_product=product, serial_device=serial, render=render, paper_mm=int(paper),
                                     timeout_s=float(timeout))
                st.success(tr("ui.saved"))
    if st.button(tr("gifts.test_print"), key="setup_test_print"):
        with desk_action():
            out = receipts.test_print(eng, desk=desk, staff_id=station.staff_id, event_id=station.event_id)
            (st.success if out["status"] in ("printed", "screen") else st.warning)(
                tr("gifts.test_result", status=tr(f"job.{out['status']}"), error=out["error"]))

with tab_ins:
    text = st.text_area(tr("setup.insurers"), value="\n".join(cashier.insurers(eng)), height=260)
    if st.button(tr("ui.save"), key="save_insurers"):
        with desk_action():
            manager.save_insurers(eng, staff_id=station.staff_id, desk=station.desk, event_id=event.id, text=text)
            st.success(tr("ui.saved"))
