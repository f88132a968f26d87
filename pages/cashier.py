"""财务收银: find the guest, sign the renewal per vehicle, invoices, the desk's list and cash-up, void."""
import pandas as pd
import streamlit as st

from core import cashier, finance
from core.errors import DeskError
from core.events import list_staff
from core.models import PAYMENT_METHODS
from pages.common import (answered, desk_action, engine, esc, form_nonce, guest_lines, nonce_tag, refusal_text, require_station,
                          scan_to_guest, scanner, spend_nonce, tr, verdict, void_form, yuan)

station = require_station("cashier")
eng = engine()
ss = st.session_state


def on_scan() -> None:
    scan_to_guest("cashier", station.event_id, clear=("cashier_confirm",))


def pick(invitation_id: int) -> None:
    ss["cashier_guest"], ss["cashier_matches"] = invitation_id, []
    ss["cashier_form"] = ss.get("cashier_form", 0) + 1


# the 交强险 table's seat classes (a representative count each) and the catalog keys of the finance texts
SEAT_CHOICES = {None: "finance.seats_unknown", 5: "finance.seats_small", 7: "finance.seats_mid", 11: "finance.seats_large"}
SEAT_CLASS_KEYS = {"small": "finance.seat_class_small", "mid": "finance.seat_class_mid",
                   "large": "finance.seat_class_large", "unknown": "finance.seat_class_unknown"}
CHECK_KEYS = {"compulsory_table": "finance.check_compulsory_table", "commercial_vs_last": "finance.check_commercial_vs_last",
              "commercial_range": "finance.check_commercial_range", "vehicle_tax_high": "finance.check_vehicle_tax_high"}
INVOICE_KIND_KEYS = {"none": "finance.invoice_none", "personal": "finance.invoice_personal",
                     "company": "finance.invoice_company"}


def live_total(labels: list[str]) -> None:
    """The renewal's total as the cashier types, summed in the browser from the form's three amount
    boxes (found by their labels), so no key press reruns the desk. The saved total is core's, in fen."""
    import json

    st.html(f"""<div class='rd-live-total' style='font-size:1.5rem;font-weight:700;color:#1a4fa0'>
      {esc(tr("finance.live_total"))}：<span id='rd-live-total'>￥0.00</span></div>
    <script>(function () {{
      const doc = window.parent ? window.parent.document : document;
      const win = doc.defaultView || window;
      win.rdLiveLabels = {json.dumps(labels, ensure_ascii=False)};
      win.rdLiveBad = {json.dumps(tr("finance.live_total_bad"), ensure_ascii=False)};
      function fen(v) {{
        v = (v || '').replace(/[\uff10-\uff19\uff0e]/g, c => String.fromCharCode(c.charCodeAt(0) - 0xFEE0))
                     .replace(/[,\uff0c\s元¥￥]/g, '');
        if (!v) return 0;
        if (!/^\d+(\.\d{{1,2}})?$/.test(v)) return null;
        const [i, d = ''] = v.split('.');
        return parseInt(i, 10) * 100 + parseInt((d + '00').slice(0, 2), 10);
      }}
      function fmt(f) {{
        return Math.floor(f / 100).toString().replace(/\B(?=(\d{{3}})+(?!\d))/g, ',') + '.' + String(f % 100).padStart(2, '0');
      }}
      function update() {{
        const out = doc.getElementById('rd-live-total');
        if (!out) return;
        let sum = 0, bad = false;
        for (const label of win.rdLiveLabels) {{
          const box = doc.querySelector('input[aria-label="' + label + '"]');
          const f = fen(box ? box.value : '');
          if (f === null) bad = true; else sum += f;
        }}
        out.textContent = bad ? win.rdLiveBad : '￥' + fmt(sum);
      }}
      if (!win.rdLiveListening) {{
        win.rdLiveListening = true;
        doc.addEventListener('input', e => {{
          if (e.target && win.rdLiveLabels.includes(e.target.getAttribute('aria-label'))) update();
        }}, true);
      }}
      win.rdLiveUpdate = update;
      requestAnimationFrame(update);
    }})();</script>""", unsafe_allow_javascript=True)


def check_lines(checks: list[dict]) -> list[str]:
    return [tr(CHECK_KEYS[c["code"]], **{**c, "seats": tr(SEAT_CLASS_KEYS[c.get("seats", "unknown")])})
            for c in checks]


def invoice_details_editor(r: dict) -> None:
    """The customer decides on the invoice after paying: 抬头 and 税号 until the invoice is issued."""
    with st.expander(tr("finance.edit_invoice")):
        with st.form(f"inv_details_{r['renewal_id']}"):
            kinds = list(INVOICE_KIND_KEYS)
            kind = st.radio(tr("finance.invoice"), kinds, horizontal=True,
                            index=kinds.index(r["invoice_kind"]) if r["invoice_kind"] in kinds else 1,
                            format_func=lambda k: tr(INVOICE_KIND_KEYS[k]))
            title = st.text_input(tr("finance.invoice_title"), value=r["invoice_title"] or r["name"])
            tax_id = st.text_input(tr("finance.tax_id"), value=r["invoice_tax_id"])
            if st.form_submit_button(tr("ui.save")):
                with desk_action():
                    finance.set_invoice_details(eng, renewal_id=r["renewal_id"], kind=kind, title=title, tax_id=tax_id,
                                                desk=station.desk, staff_id=station.staff_id)
                    st.rerun()


def print_payment_receipt(done: dict) -> None:
    """The 收款凭证 of the renewal just saved, on this desk's printer (on screen without one)."""
    if st.button(tr("finance.print_receipt"), key=f"cashier_print_{done['renewal_id']}"):
        with desk_action():
            out = finance.payment_receipt(eng, renewal_id=done["renewal_id"], desk=station.desk, staff_id=station.staff_id)
            (st.success if out["status"] in ("printed", "screen") else st.warning)(
                tr("finance.receipt_result", receipt_no=out["receipt_no"], status=tr(f"job.{out['status']}"),
                   error=out["error"]))
            if out["status"] == "screen":
                from core.receipts import preview

                st.code("\n".join(preview(eng, out["job_id"])["lines"]), language=None)


st.title(tr("page.cashier"))
st.text_input(tr("cashier.scan_label"), key="cashier_scan", on_change=on_scan, placeholder=tr("checkin.scan_placeholder"))
if ss.get("cashier_msg"):
    verdict("red", tr("cashier.not_found"), [ss["cashier_msg"]], foot=ss.get("cashier_scanned", ""))
for m in ss.get("cashier_matches", []):
    st.button(f"{m['name']} · {m['phone']} · {m['plates'] or tr('ui.no_plate')}", key=f"cpick_{m['invitation_id']}",
              on_click=pick, args=(m["invitation_id"],))

if ss.get("cashier_done"):
    done = ss["cashier_done"]
    verdict("green", tr("cashier.done", receipt_no=esc(done["receipt_no"])),
            [f"{esc(done['plate'])} · {tr('cashier.total')} ￥{yuan(done['total_fen'])}",
             tr("cashier.checked_in_now") if done["checked_in_now"] else ""])
    print_payment_receipt(done)

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
        st.subheader(esc(guest["name"]))
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
        for h in finance.vehicle_hints(eng, [v["id"] for v in free]).values():
            if h["commercial_last_fen"]:
                st.caption(tr("finance.last_year", plate=h["plate"], amount=yuan(h["commercial_last_fen"])))
            if h["seats"]:
                st.caption(tr("finance.seats_known", plate=h["plate"], seats=h["seats"]))
        if free:
            staff = [p for p in list_staff(eng)]
            staff_ids = [None] + [p.id for p in staff]
            names = {p.id: p.name for p in staff}
            default_idx = staff_ids.index(guest["advisor_id"]) if guest["advisor_id"] in staff_ids else 0
            nonce = form_nonce("renewal")  # a double click signs once and shows the same green answer
            with st.form(f"renewal_{ss.get('cashier_form', 0)}_{nonce_tag(nonce)}", clear_on_submit=False):  # empty for each new guest
                vehicle = st.selectbox(tr("cashier.vehicle"), free,
                                       format_func=lambda v: f"{v['plate'] or v['vin'] or tr('ui.no_plate')} {v['model']}")
                insurer = st.selectbox(tr("cashier.insurer"), cashier.insurers(eng), index=None,
                                       placeholder=tr("cashier.choose"))
                c1, c2, c3 = st.columns(3)
                compulsory = c1.text_input(tr("cashier.compulsory"), placeholder="950.00")
                commercial = c2.text_input(tr("cashier.commercial"), placeholder="3200.00")
                tax = c3.text_input(tr("cashier.vehicle_tax"), placeholder="360.00")
                live_total([tr("cashier.compulsory"), tr("cashier.commercial"), tr("cashier.vehicle_tax")])
                seat_labels = {n: tr(key) for n, key in SEAT_CHOICES.items()}
                seats = st.selectbox(tr("finance.seats"), list(SEAT_CHOICES), key=f"cashier_seats_{inv_id}",
                                     format_func=seat_labels.__getitem__)
                d1, d2, d3 = st.columns(3)
                damage = d1.checkbox(tr("cashier.cov_damage"), value=True)
                third = d2.selectbox(tr("cashier.cov_third"), ["", "100万", "150万", "200万", "300万", "500万"], index=3)
                seat_cover = d3.text_input(tr("cashier.cov_seats"), placeholder="1万/座")
                policies = st.text_input(tr("cashier.policies"), placeholder="PDAA2026…")
                method = st.radio(tr("cashier.payment"), PAYMENT_METHODS, horizontal=True, index=None,
                                  format_func=lambda m: tr(f"pay.{m}"))
                ref = st.text_input(tr("cashier.payment_ref"))
                advisor = st.selectbox(tr("cashier.credited"), staff_ids, index=default_idx,
                                       format_func=lambda i: names.get(i, "—"))
                credit_reason = st.text_input(tr("cashier.credit_reason"))
                i1, i2, i3 = st.columns([2, 3, 3])
                kind_labels = {k: tr(INVOICE_KIND_KEYS[k]) for k in finance.INVOICE_KINDS}  # worded in this run's language
                inv_kind = i1.radio(tr("finance.invoice"), finance.INVOICE_KINDS, index=1, horizontal=True,
                                    key=f"cashier_invoice_kind_{inv_id}", format_func=kind_labels.__getitem__)
                inv_title = i2.text_input(tr("finance.invoice_title"), key=f"cashier_invoice_title_{inv_id}",
                                          placeholder=tr("finance.invoice_title_ph"))
                inv_tax = i3.text_input(tr("finance.tax_id"), key=f"cashier_invoice_tax_{inv_id}", placeholder="91440101MA5XXXXXXX")
                pending_confirm = ss.get("cashier_confirm") if (ss.get("cashier_confirm") or {}).get("guest") == inv_id else None
                confirm = False
                if pending_confirm:
                    st.warning("  \n".join([tr("finance.needs_confirm"), *("· " + x for x in check_lines(
                        pending_confirm["checks"])), tr("finance.confirm_hint")]))
                    confirm = st.checkbox(tr("finance.confirm_tick"), key=f"cashier_confirm_tick_{pending_confirm['key']}")
                if st.form_submit_button(tr("cashier.submit"), type="primary"):
                    coverage = cashier.coverage_code(damage=damage, third=third, seats=seat_cover)
                    try:
                        done = cashier.record_renewal(
                            eng, event_id=station.event_id, invitation_id=inv_id, vehicle_id=vehicle["id"],
                            insurer=insurer or "", compulsory=compulsory, commercial=commercial, vehicle_tax=tax,
                            coverage=coverage, policy_numbers=policies, payment_method=method or "", payment_ref=ref,
                            advisor_id=advisor, credit_reason=credit_reason, desk=station.desk, staff_id=station.staff_id,
                            confirmed=pending_confirm["key"] if (confirm and pending_confirm) else "", seats=seats,
                            invoice_kind=inv_kind, invoice_tax_id=inv_tax,
                            invoice_title=inv_title or (guest["name"] if inv_kind == "personal" else ""), nonce=nonce)
                        spend_nonce("renewal")
                        ss["cashier_done"] = done  # a replayed answer (the same nonce) is the same green verdict
                        ss.pop("cashier_confirm", None)
                        ss["cashier_form"], ss["cashier_sound"] = ss.get("cashier_form", 0) + 1, "green"
                        answered()
                        st.rerun()
                    except DeskError as e:
                        if e.reason == "amount_needs_confirm":  # shown above the submit button, with a tick box
                            ss["cashier_confirm"] = {"guest": inv_id, "key": e.info["confirm_key"], "checks": e.info["checks"]}
                            st.rerun()
                        st.error(refusal_text(e))

with tab_invoice:
    if ss.get("cashier_invoiced"):
        st.success(tr("forms.invoiced", receipt_no=esc(ss["cashier_invoiced"]["receipt_no"]),
                      invoice_no=esc(ss["cashier_invoiced"]["invoice_no"])))
    pending = cashier.renewal_rows(eng, station.event_id, pending_invoice=True)
    if not pending:
        st.info(tr("cashier.no_pending"))
    for r in pending:
        c1, c2, c3 = st.columns([3, 2, 1])
        c1.markdown(f"**{esc(r['receipt_no'])}** · {esc(r['name'])} · {esc(r['plate'])} · ￥{yuan(r['total_fen'])}")
        if r.get("invoice_title"):
            c1.caption(tr("finance.invoice_for", title=esc(r["invoice_title"]), tax_id=esc(r["invoice_tax_id"])))
        number = c2.text_input(tr("cashier.invoice_no"), key=f"inv_{r['renewal_id']}", label_visibility="collapsed",
                               placeholder=tr("cashier.invoice_no"))
        inv_nonce = form_nonce(f"invoice_{r['renewal_id']}")
        if c3.button(tr("cashier.invoiced"), key=f"invbtn_{r['renewal_id']}_{nonce_tag(inv_nonce)}"):
            ss.pop("cashier_invoiced", None)
            with desk_action():
                ss["cashier_invoiced"] = cashier.mark_invoiced(eng, renewal_id=r["renewal_id"], invoice_no=number,
                                                               desk=station.desk, staff_id=station.staff_id, nonce=inv_nonce)
                spend_nonce(f"invoice_{r['renewal_id']}")
                st.rerun()
        invoice_details_editor(r)

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
    totals = cashier.cash_up(eng, station.event_id, desk=None if station.is_manager else station.desk)
    st.dataframe(pd.DataFrame([{tr("cashier.payment"): tr(f"pay.{m}"), tr("cashier.count"): v["count"],
                                tr("cashier.total"): yuan(v["total_fen"])} for m, v in totals.items()]), hide_index=True)
    st.metric(tr("finance.all_desks_cash") if station.is_manager else tr("cashier.desk_total"), f"￥{yuan(sum(v['total_fen'] for v in totals.values()))}")

with tab_void:
    if not station.is_manager:
        st.info(tr("reason.not_manager"))
    else:
        void_form([r for r in cashier.renewal_rows(eng, station.event_id, limit=None) if not r["voided"]], prefix="void")

scanner("cashier_scan", sound=ss.get("cashier_sound"))  # last: a queued scan goes in once this page has answered
