"""财务收银: find the guest, sign the renewal per vehicle, invoices, the desk's list and cash-up, void."""
import pandas as pd
import streamlit as st

from core import cashier
from core.errors import DeskError
from core.events import list_staff
from core.models import PAYMENT_METHODS
from pages.common import answered, desk_action, scan_to_guest, engine, esc, scanner, guest_lines, refusal_text, require_station, tr, verdict, yuan

station = require_station("cashier")
eng = engine()
ss = st.session_state


def on_scan() -> None:
    scan_to_guest("cashier", station.event_id)


def pick(invitation_id: int) -> None:
    ss["cashier_guest"], ss["cashier_matches"] = invitation_id, []
    ss["cashier_form"] = ss.get("cashier_form", 0) + 1


st.title(tr("page.cashier"))
st.text_input(tr("cashier.scan_label"), key="cashier_scan", on_change=on_scan, placeholder=tr("checkin.scan_placeholder"))
if ss.get("cashier_msg"):
    verdict("red", tr("cashier.not_found"), [esc(ss["cashier_msg"])], foot=ss.get("cashier_scanned", ""))
for m in ss.get("cashier_matches", []):
    st.button(f"{m['name']} · {m['phone']} · {m['plates'] or tr('ui.no_plate')}", key=f"cpick_{m['invitation_id']}",
              on_click=pick, args=(m["invitation_id"],))

if ss.get("cashier_done"):
    done = ss["cashier_done"]
    verdict("green", tr("cashier.done", receipt_no=esc(done["receipt_no"])),
            [f"{esc(done['plate'])} · {tr('cashier.total')} ￥{yuan(done['total_fen'])}",
             tr("cashier.checked_in_now") if done["checked_in_now"] else ""])

tab_renew, tab_invoice, tab_list, tab_cash, tab_void = st.tabs(
    [tr("cashier.tab_renew"), tr("cashier.tab_invoice"), tr("cashier.tab_list"), tr("cashier.tab_cash"), tr("cashier.tab_void")])

with tab_renew:
    inv_id = ss.get("cashier_guest")
    if inv_id is None:
        st.info(tr("cashier.scan_first"))
    else:
        from core.lookup import guest_card
        from core.models import Invitation
        from core.store import read_session

        with read_session(eng) as s:
            guest = guest_card(s, s.get(Invitation, inv_id))
        st.subheader(f"{guest['name']}")
        if ss.get("cashier_scanned"):
            st.caption(ss["cashier_scanned"])
        for line in guest_lines(guest):
            st.markdown(line)
        renewed = {r["vehicle_id"]: r for r in cashier.renewal_rows(eng, station.event_id, invitation_id=inv_id)
                   if not r["voided"]}
        vehicles = guest["vehicles"]
        free = [v for v in vehicles if v["id"] not in renewed]
        for v in vehicles:
            if v["id"] in renewed:
                st.caption(tr("reason.already_renewed", receipt_no=renewed[v["id"]]["receipt_no"]) + f" · {v['plate']}")
        with st.expander(tr("cashier.add_vehicle"), expanded=not vehicles):
            new_plate = st.text_input(tr("ui.plate"), key="cashier_new_plate", placeholder="粤B·12345")
            if st.button(tr("cashier.add_vehicle"), key="cashier_add_vehicle"):
                with desk_action():
                    cashier.add_vehicle(eng, invitation_id=inv_id, plate=new_plate, desk=station.desk, staff_id=station.staff_id)
                    st.rerun()
        if free:
            staff = [p for p in list_staff(eng)]
            staff_ids = [None] + [p.id for p in staff]
            names = {p.id: p.name for p in staff}
            default_idx = staff_ids.index(guest["advisor_id"]) if guest["advisor_id"] in staff_ids else 0
            with st.form(f"renewal_{ss.get('cashier_form', 0)}", clear_on_submit=False):  # empty for each new guest
                vehicle = st.selectbox(tr("cashier.vehicle"), free,
                                       format_func=lambda v: f"{v['plate'] or v['vin'] or tr('ui.no_plate')} {v['model']}")
                insurer = st.selectbox(tr("cashier.insurer"), cashier.insurers(eng), index=None,
                                       placeholder=tr("cashier.choose"))
                c1, c2, c3 = st.columns(3)
                compulsory = c1.text_input(tr("cashier.compulsory"), placeholder="950.00")
                commercial = c2.text_input(tr("cashier.commercial"), placeholder="3200.00")
                tax = c3.text_input(tr("cashier.vehicle_tax"), placeholder="360.00")
                d1, d2, d3 = st.columns(3)
                damage = d1.checkbox(tr("cashier.cov_damage"), value=True)
                third = d2.selectbox(tr("cashier.cov_third"), ["", "100万", "150万", "200万", "300万", "500万"], index=3)
                seats = d3.text_input(tr("cashier.cov_seats"), placeholder="1万/座")
                policies = st.text_input(tr("cashier.policies"), placeholder="PDAA2026…")
                method = st.radio(tr("cashier.payment"), PAYMENT_METHODS, horizontal=True, index=None,
                                  format_func=lambda m: tr(f"pay.{m}"))
                ref = st.text_input(tr("cashier.payment_ref"))
                advisor = st.selectbox(tr("cashier.credited"), staff_ids, index=default_idx,
                                       format_func=lambda i: names.get(i, "—"))
                credit_reason = st.text_input(tr("cashier.credit_reason"))
                confirm = st.checkbox(tr("cashier.confirm_high"))
                if st.form_submit_button(tr("cashier.submit"), type="primary"):
                    coverage = cashier.coverage_code(damage=damage, third=third, seats=seats)
                    try:
                        done = cashier.record_renewal(
                            eng, event_id=station.event_id, invitation_id=inv_id, vehicle_id=vehicle["id"],
                            insurer=insurer or "", compulsory=compulsory, commercial=commercial, vehicle_tax=tax,
                            coverage=coverage, policy_numbers=policies, payment_method=method or "", payment_ref=ref,
                            advisor_id=advisor, credit_reason=credit_reason, confirm_high=confirm, desk=station.desk,
                            staff_id=station.staff_id)
                        ss["cashier_done"] = done
                        ss["cashier_form"], ss["cashier_sound"] = ss.get("cashier_form", 0) + 1, "green"
                        answered()
                        st.rerun()
                    except DeskError as e:
                        st.error(refusal_text(e))

with tab_invoice:
    pending = cashier.renewal_rows(eng, station.event_id, pending_invoice=True)
    if not pending:
        st.info(tr("cashier.no_pending"))
    for r in pending:
        c1, c2, c3 = st.columns([3, 2, 1])
        c1.markdown(f"**{esc(r['receipt_no'])}** · {esc(r['name'])} · {esc(r['plate'])} · ￥{yuan(r['total_fen'])}")
        number = c2.text_input(tr("cashier.invoice_no"), key=f"inv_{r['renewal_id']}", label_visibility="collapsed",
                               placeholder=tr("cashier.invoice_no"))
        if c3.button(tr("cashier.invoiced"), key=f"invbtn_{r['renewal_id']}"):
            with desk_action():
                cashier.mark_invoiced(eng, renewal_id=r["renewal_id"], invoice_no=number, desk=station.desk,
                                      staff_id=station.staff_id)
                st.rerun()

with tab_list:
    rows = cashier.renewal_rows(eng, station.event_id, desk=station.desk)
    if rows:
        st.dataframe(pd.DataFrame([{tr("cashier.col_receipt"): r["receipt_no"], tr("cashier.col_time"): r["time"],
                                    tr("ui.name"): r["name"], tr("ui.plate"): r["plate"], tr("cashier.insurer"): r["insurer"],
                                    tr("cashier.total"): yuan(r["total_fen"]), tr("cashier.payment"): tr(f"pay.{r['payment_method']}"),
                                    tr("ui.advisor"): r["advisor"], tr("cashier.invoice_no"): r["invoice_no"],
                                    tr("cashier.col_void"): "✗" if r["voided"] else ""} for r in rows]),
                     hide_index=True, width="stretch")
    else:
        st.info(tr("cashier.none_yet"))

with tab_cash:
    totals = cashier.cash_up(eng, station.event_id, desk=station.desk)
    st.dataframe(pd.DataFrame([{tr("cashier.payment"): tr(f"pay.{m}"), tr("cashier.count"): v["count"],
                                tr("cashier.total"): yuan(v["total_fen"])} for m, v in totals.items()]), hide_index=True)
    st.metric(tr("cashier.desk_total"), f"￥{yuan(sum(v['total_fen'] for v in totals.values()))}")

with tab_void:
    if not station.is_manager:
        st.info(tr("reason.not_manager"))
    else:
        live = [r for r in cashier.renewal_rows(eng, station.event_id) if not r["voided"]]
        with st.form("void", clear_on_submit=True):  # a form: leaving a field does not rerun; Enter submits
            choice = st.selectbox(tr("cashier.void_which"), live, index=None, placeholder=tr("cashier.choose"),
                                  format_func=lambda r: f"{r['receipt_no']} · {r['name']} · {r['plate']} · ￥{yuan(r['total_fen'])}")
            reason = st.text_input(tr("ui.reason"), key="void_reason")
            submitted = st.form_submit_button(tr("cashier.void"), type="primary")
        if submitted:
            with desk_action():
                out = cashier.void_renewal(eng, renewal_id=choice["renewal_id"] if choice else None, reason=reason,
                                           desk=station.desk,
                                           staff_id=station.staff_id)
                st.success(tr("cashier.voided", receipt_no=out["receipt_no"], gifts=out["reclaim_gifts"],
                              prizes=out["reclaim_prizes"]))

scanner("cashier_scan", sound=ss.get("cashier_sound"))  # last: a queued scan goes in once this page has answered
