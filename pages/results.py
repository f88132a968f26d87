"""活动成果 (N+1): funnel, premium, gifts left, the incentive, the second invitation, winners and
hand-outs; one workbook for the general manager."""
from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from core import incentive, results
from core.clock import now
from core.events import list_events
from pages.common import desk_action, engine, lang, private_download, require_station, tr, yuan

me = require_station("results")
eng = engine()
ss = st.session_state
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

st.title(tr("page.results"))
private_download(tr("results.download_all"),
                 lambda ev=me.event_id, lg=lang(): results.results_book(eng, event_id=ev, lang=lg),
                 file_name=f"results-{me.event_id}.xlsx", mime=XLSX, key="rs_dl_all", type="primary")

STAGE_COLS = {k: tr(f"results.stage.{k}") for k in results.STAGES}
tabs = st.tabs([tr(f"results.tab_{k}") for k in ("funnel", "premium", "gifts", "incentive", "second", "handouts")])


def bar(df: pd.DataFrame, x: str, y: str, *, sort=None, color: str = "#1a4fa0", fmt: str = ",.0f") -> alt.Chart:
    base = alt.Chart(df).encode(x=alt.X(x, title=None),
                                y=alt.Y(y, title=None, sort=sort, axis=alt.Axis(labelOverlap=False, labelLimit=220)))
    return (base.mark_bar(color=color) + base.mark_text(align="left", dx=3).encode(text=alt.Text(x, format=fmt))
            ).properties(height=max(120, 34 * len(df)))


with tabs[0]:
    f = results.funnel(eng, event_id=me.event_id)
    o = f["overall"]
    st.subheader(f"{tr('results.overall')} · {tr('counts.invited')}")
    df = pd.DataFrame([{"stage": STAGE_COLS[k], "n": o[k]} for k in results.STAGES])
    st.altair_chart(bar(df, "n:Q", "stage:N", sort=list(STAGE_COLS.values())), width="stretch")
    st.subheader(tr("results.populations"))
    pop_label = {"invited": tr("counts.invited"), "web": tr("counts.web"), "walk_in": tr("counts.walk_in"),
                 "total": tr("counts.total")}
    pops = pd.DataFrame([{tr("results.col.population"): pop_label[r["population"]],
                          tr("results.col.count"): r["invited"],  # how many of each: 邀约 is one of the rows
                          **{STAGE_COLS[k]: r[k] for k in results.STAGES[1:]}, tr("results.col.renewals"): r["renewals"]}
                         for r in f["populations"]])
    st.dataframe(pops, hide_index=True, width="stretch", key="rs_populations")
    for key, label, first in (("by_caller", "results.by_caller", "caller"), ("by_group", "results.by_group", "group")):
        st.subheader(tr(label))
        cols = [first, "invited", "web", *results.STAGES[1:]] if key == "by_caller" else [first, *results.STAGES]
        t = pd.DataFrame(f[key], columns=cols)
        if key == "by_group":
            t["group"] = [tr(f"group.{g}") for g in t["group"]]
        t = t.rename(columns={"caller": tr("results.col.caller"), "group": tr("results.col.group"), **STAGE_COLS,
                              "web": tr("counts.web")})
        st.dataframe(t, hide_index=True, width="stretch", key=f"rs_{key}")
    st.caption(tr("results.list_note"))

with tabs[1]:
    p = results.premium(eng, event_id=me.event_id)
    if not p["insurer"]:
        st.info(tr("results.no_renewals"))
    for key, col in (("insurer", "results.col.insurer"), ("payment", "results.col.payment")):
        if not p[key]:
            continue
        st.subheader(tr(col))
        df = pd.DataFrame([{tr(col): r["name"] if key == "insurer" else tr(f"pay.{r['name']}"),
                            tr("results.col.renewals"): r["count"], "yuan": r["total_fen"] / 100,
                            tr("results.col.premium"): yuan(r["total_fen"])} for r in p[key]])
        st.altair_chart(bar(df, "yuan:Q", f"{tr(col)}:N", sort="-x", color="#0b7a3b"), width="stretch")
        st.dataframe(df.drop(columns="yuan"), hide_index=True, width="stretch")

with tabs[2]:
    g = results.gifts_left(eng, event_id=me.event_id)
    df = pd.DataFrame([{tr("results.col.item"): r["name"], tr("results.col.kind"): tr(f"kind.{r['kind']}"),
                        tr("results.col.initial"): r["initial"], tr("results.col.handed_out"): r["handed_out"],
                        tr("results.col.left"): r["left"]} for r in g])
    if not df.empty:
        long = df.melt(id_vars=[tr("results.col.item")], value_vars=[tr("results.col.handed_out"), tr("results.col.left")],
                       var_name="k", value_name="n")
        given, left = tr("results.col.handed_out"), tr("results.col.left")
        chart = alt.Chart(long).mark_bar().encode(
            x=alt.X("n:Q", title=None, stack=True),
            y=alt.Y(f"{tr('results.col.item')}:N", title=None, sort=None, axis=alt.Axis(labelOverlap=False, labelLimit=220)),
            color=alt.Color("k:N", title=None, scale=alt.Scale(domain=[given, left], range=["#a15c00", "#9ec5fe"]),
                            legend=alt.Legend(orient="top")),
            order=alt.Order("k:N", sort="descending")).properties(height=max(160, 36 * len(df)))
        st.altair_chart(chart, width="stretch")
        st.dataframe(df, hide_index=True, width="stretch")

with tabs[3]:
    tiers, basis = incentive.policy(eng, me.event_id)
    cols = {"low": tr("incentive.low"), "high": tr("incentive.high"), "per_batch": tr("incentive.per_batch"),
            "fixed": tr("incentive.fixed")}
    with st.form("rs_policy"):
        new_basis = st.radio(tr("incentive.basis"), incentive.BASES, index=incentive.BASES.index(basis), horizontal=True,
                             format_func=lambda b: tr(f"incentive.basis.{b}"), key="rs_basis")
        st.caption(tr("incentive.tiers_help"))
        edited = st.data_editor(pd.DataFrame([t.__dict__ for t in tiers]).rename(columns=cols), num_rows="dynamic",
                                hide_index=True, key="rs_tiers", width="stretch",
                                column_config={c: st.column_config.NumberColumn(c, step=1) for c in cols.values()})
        if st.form_submit_button(tr("incentive.save")):
            with desk_action():
                back = {v: k for k, v in cols.items()}
                rows = edited.rename(columns=back).to_dict("records")
                new = [incentive.Tier(low=r["low"], high=None if pd.isna(r["high"]) else r["high"],
                                      per_batch=None if pd.isna(r["per_batch"]) else r["per_batch"],
                                      fixed=0 if pd.isna(r["fixed"]) else r["fixed"])
                       for r in rows if not pd.isna(r["low"])]
                incentive.save_policy(eng, event_id=me.event_id, tiers=new, basis=new_basis, staff_id=me.staff_id,
                                      desk=me.desk)
                st.success(tr("ui.saved"))
                st.rerun()
    pay, basis = incentive.payouts(eng, event_id=me.event_id)
    df = pd.DataFrame([{tr("results.col.caller"): r["caller"], tr("results.col.team"): r["team"],
                        tr(f"incentive.basis.{basis}"): r["batches"], tr("results.col.tier"): r["tier"],
                        tr("results.col.payout"): r["payout"]} for r in pay])
    st.dataframe(df, hide_index=True, width="stretch")
    private_download(tr("incentive.download"),
                     lambda ev=me.event_id, lg=lang(): results.incentive_book(eng, event_id=ev, lang=lg),
                     file_name=f"incentive-{me.event_id}.xlsx", mime=XLSX, key="rs_dl_incentive")

with tabs[4]:
    st.caption(tr("results.second_help"))
    n1 = results.n1_list(eng, event_id=me.event_id)
    if not n1:
        st.info(tr("results.second_none"))
    else:
        st.dataframe(pd.DataFrame([{tr("results.col.guest"): r["name"], tr("results.col.phone"): r["phone"],
                                    tr("results.col.caller"): r["advisor"],
                                    tr("results.col.second_reason"): tr(f"results.second.{r['reason']}")} for r in n1]),
                     hide_index=True, width="stretch")
        private_download(tr("results.second_download"),
                         lambda ev=me.event_id, lg=lang(): results.n1_book(eng, event_id=ev, lang=lg),
                         file_name=f"n1-{me.event_id}.xlsx", mime=XLSX, key="rs_dl_n1")
        others = [e for e in list_events(eng) if e.id != me.event_id]
        with st.form("rs_n1_load"):
            target = st.selectbox(tr("results.second_target"), [None] + [e.id for e in others], key="rs_n1_target",
                                  format_func=lambda i: "➕ " + tr("results.second_new_event") if i is None
                                  else next(f"{e.name}（{e.event_date}）" for e in others if e.id == i))
            c1, c2 = st.columns(2)
            name = c1.text_input(tr("results.second_new_event"), key="rs_n1_name")
            when = c2.date_input(tr("results.second_new_date"), value=now().date() + timedelta(days=7), key="rs_n1_date")
            if st.form_submit_button(tr("results.second_load")):
                with desk_action():
                    out = results.load_n1(eng, source_event_id=me.event_id, target_event_id=target,
                                          new_event_name=name, new_event_date=when, staff_id=me.staff_id, desk=me.desk)
                    st.success(tr("results.second_loaded", added=out["added"], skipped=out["skipped"]))

with tabs[5]:
    rows = results.hand_outs(eng, event_id=me.event_id)
    if not rows:
        st.info(tr("results.handouts_none"))
    else:
        st.dataframe(pd.DataFrame([{tr("results.col.at"): f"{r['at']:%H:%M:%S}",
                                    tr("results.col.kind"): tr(f"results.kind.{r['kind']}"),
                                    tr("results.col.item"): r["item"], tr("results.col.guest"): r["name"],
                                    tr("results.col.desk"): r["desk"], tr("results.col.receipt_no"): r["receipt_no"]}
                                   for r in rows]), hide_index=True, width="stretch")
        private_download(tr("results.handouts_download"),
                         lambda ev=me.event_id, lg=lang(): results.winners_book(eng, event_id=ev, lang=lg),
                         file_name=f"winners-{me.event_id}.xlsx", mime=XLSX, key="rs_dl_handouts")
