"""财务汇总 (manager): every renewal of the event with filters and pages, the cash-up of all desks
by payment method, the finance workbook, voids without a length limit, the amount-check settings."""
import math

import pandas as pd
import streamlit as st

from core import cashier, finance
from core.models import PAYMENT_METHODS
from pages.common import desk_action, engine, esc, private_download, require_station, tr, void_form, yuan

PAGE_SIZE = 50
INVOICE_STATE_KEYS = {"pending": "finance.inv_pending", "invoiced": "finance.inv_invoiced",
                      "not_wanted": "finance.inv_not_wanted"}
STATUS_KEYS = {"live": "finance.st_live", "voided": "finance.st_voided", "all": "finance.st_all"}
station = require_station("finance")
eng = engine()
ss = st.session_state

st.title(tr("page.finance"))
tab_list, tab_cash, tab_void, tab_settings = st.tabs(
    [tr("finance.tab_list"), tr("finance.tab_cash"), tr("finance.tab_void"), tr("finance.tab_settings")])


def pager(key: str, total: int) -> int:
    """Previous / next over `total` rows; returns the offset."""
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(ss.get(key, 1), pages)
    c1, c2, c3 = st.columns([1, 2, 1])
    if c1.button(tr("finance.prev"), key=f"{key}_prev", disabled=page <= 1, width="stretch"):
        page -= 1
    if c3.button(tr("finance.next"), key=f"{key}_next", disabled=page >= pages, width="stretch"):
        page += 1
    ss[key] = page
    c2.markdown(f"<div style='text-align:center;padding-top:.4rem'>{tr('finance.page_of', page=page, pages=pages)}</div>",
                unsafe_allow_html=True)
    return (page - 1) * PAGE_SIZE


def table(rows: list[dict], voids: bool = False) -> None:
    data = []
    for r in rows:
        line = {tr("cashier.col_receipt"): r["receipt_no"], tr("cashier.col_time"): r["time"],
                tr("finance.col_desk"): r["desk"], tr("ui.name"): r["name"], tr("ui.plate"): r["plate"],
                tr("cashier.insurer"): r["insurer"], tr("finance.col_compulsory"): yuan(r["compulsory_fen"]),
                tr("finance.col_commercial"): yuan(r["commercial_fen"]), tr("finance.col_tax"): yuan(r["vehicle_tax_fen"]),
                tr("cashier.total"): yuan(r["total_fen"]), tr("cashier.payment"): tr(f"pay.{r['payment_method']}"),
                tr("ui.advisor"): r["advisor"], tr("finance.col_invoice"): tr(INVOICE_STATE_KEYS[r["invoice_state"]]),
                tr("finance.col_title"): " ".join(x for x in (r["invoice_title"], r["invoice_tax_id"]) if x),
                tr("cashier.invoice_no"): r["invoice_no"], tr("finance.col_note"): r["amount_note"]}
        if voids:
            line[tr("cashier.col_void")] = r["voided_at"]
            line[tr("finance.col_void_reason")] = r["void_reason"]
        data.append(line)
    st.dataframe(pd.DataFrame(data), hide_index=True, width="stretch")


def totals_line(t: dict) -> str:
    return tr("finance.matched", count=t["count"], compulsory=yuan(t["compulsory_fen"]),
              commercial=yuan(t["commercial_fen"]), tax=yuan(t["vehicle_tax_fen"]), total=yuan(t["total_fen"]))


with tab_list:
    opts = finance.filter_options(eng, station.event_id)
    advisors = dict(opts["advisors"])
    c1, c2, c3 = st.columns(3)
    desk = c1.selectbox(tr("finance.f_desk"), [None] + opts["desks"], key="fin_desk",
                        format_func=lambda d: tr("finance.all") if d is None else d)
    advisor = c2.selectbox(tr("finance.f_advisor"), [None, finance.UNASSIGNED] + list(advisors), key="fin_advisor",
                           format_func=lambda a: tr("finance.all") if a is None else
                           tr("finance.unassigned") if a == finance.UNASSIGNED else advisors[a])
    insurer = c3.selectbox(tr("finance.f_insurer"), [None] + opts["insurers"], key="fin_insurer",
                           format_func=lambda i: tr("finance.all") if i is None else i)
    c4, c5, c6 = st.columns(3)
    method = c4.selectbox(tr("finance.f_payment"), [None, *PAYMENT_METHODS], key="fin_method",
                          format_func=lambda m: tr("finance.all") if m is None else tr(f"pay.{m}"))
    invoice = c5.selectbox(tr("finance.f_invoice"), [None, *finance.INVOICE_STATES], key="fin_invoice",
                           format_func=lambda i: tr("finance.all") if i is None else tr(INVOICE_STATE_KEYS[i]))
    status = c6.selectbox(tr("finance.f_status"), ["live", "voided", "all"], key="fin_status",
                          format_func=lambda s: tr(STATUS_KEYS[s]))
    search = st.text_input(tr("finance.f_search"), key="fin_search")
    filters = finance.Filters(desk=desk, advisor_id=advisor, insurer=insurer, payment_method=method,
                              invoice_state=invoice, status=status, search=search)
    _, totals = finance.list_renewals(eng, station.event_id, filters, limit=0)
    st.markdown(f"**{esc(totals_line(totals))}**")
    if totals["count"] == 0:
        st.info(tr("finance.none_match"))
    else:
        offset = pager("fin_page", totals["count"])
        rows, _ = finance.list_renewals(eng, station.event_id, filters, offset=offset, limit=PAGE_SIZE)
        table(rows, voids=status != "live")
    if st.button(tr("finance.export"), key="fin_export"):
        with desk_action():
            ss["fin_book"] = finance.export_workbook(eng, event_id=station.event_id, desk=station.desk,
                                                     staff_id=station.staff_id)
    if ss.get("fin_book"):
        name = f"finance-{station.event_id}.xlsx"
        private_download(tr("finance.download", name=name), ss["fin_book"], file_name=name, key="fin_download",
                         mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

with tab_cash:
    cash = finance.cash_up_all(eng, station.event_id)
    m1, m2 = st.columns(2)
    m1.metric(tr("finance.cash_total"), f"￥{yuan(cash['total_fen'])}")
    m2.metric(tr("finance.cash_count"), cash["count"])
    st.dataframe(pd.DataFrame([{tr("cashier.payment"): tr(f"pay.{m}"), tr("cashier.count"): v["count"],
                                tr("cashier.total"): yuan(v["total_fen"])} for m, v in cash["methods"].items()]),
                 hide_index=True, width="stretch")
    if cash["desks"]:
        st.dataframe(pd.DataFrame([{tr("finance.col_desk"): d,
                                    **{tr(f"pay.{m}"): yuan(v[m]["total_fen"]) for m in PAYMENT_METHODS},
                                    tr("cashier.count"): sum(x["count"] for x in v.values()),
                                    tr("cashier.total"): yuan(sum(x["total_fen"] for x in v.values()))}
                                   for d, v in cash["desks"].items()]), hide_index=True, width="stretch")
    else:
        st.info(tr("finance.cash_none"))

with tab_void:
    find = st.text_input(tr("finance.void_find"), key="fin_void_find")
    if find.strip():
        found, _ = finance.list_renewals(eng, station.event_id, finance.Filters(search=find), limit=PAGE_SIZE)
        void_form(found, prefix="fin_void")
    st.subheader(tr("finance.void_list"))
    _, vt = finance.list_renewals(eng, station.event_id, finance.Filters(status="voided"), limit=0)
    if vt["count"]:
        offset = pager("fin_void_page", vt["count"])
        rows, _ = finance.list_renewals(eng, station.event_id, finance.Filters(status="voided"), offset=offset,
                                        limit=PAGE_SIZE)
        table(rows, voids=True)
    else:
        st.info(tr("finance.none_match"))

with tab_settings:
    st.caption(tr("finance.settings_help"))
    current = finance.guard_settings(eng)
    with st.form("fin_guard"):
        g1, g2 = st.columns(2)
        low = g1.text_input(tr("finance.commercial_min"), value=yuan(current.commercial_min_fen))
        high = g2.text_input(tr("finance.commercial_max"), value=yuan(current.commercial_max_fen))
        g3, g4 = st.columns(2)
        r_low = g3.number_input(tr("finance.ratio_low"), min_value=0.05, max_value=0.95, step=0.05,
                                value=float(current.ratio_low))
        r_high = g4.number_input(tr("finance.ratio_high"), min_value=1.1, max_value=20.0, step=0.5,
                                 value=float(current.ratio_high))
        if st.form_submit_button(tr("ui.save"), type="primary"):
            with desk_action():
                finance.save_guard_settings(eng, commercial_min=low, commercial_max=high, ratio_low=r_low,
                                            ratio_high=r_high, desk=station.desk, staff_id=station.staff_id)
                st.success(tr("ui.saved"))
