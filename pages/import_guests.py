"""客户导入: the DMS list with a preview before anything is written; the SMS sheet and cards; assignment."""
import io
import zipfile

import pandas as pd
import streamlit as st

from core import importer
from core.events import invitation_counts, list_staff, reassign
from core.invitations import export_invitations, invitation_card, invitation_rows
from pages.common import desk_action, engine, lang, require_station, tr

station = require_station("import")
eng = engine()
ss = st.session_state

st.title(tr("page.import"))
st.caption(tr("import.help"))
upload = st.file_uploader(tr("import.upload"), type=["xlsx", "xls", "csv"], key="import_file")
if upload is not None:
    content = upload.getvalue()
    try:
        plan = importer.plan_import(upload.name, content)
        if not plan.rows:
            raise importer.ImportFileError(tr("import.empty_file"))
        report = importer.import_guests(eng, station.event_id, plan, dry_run=True, lang=lang())
    except importer.ImportFileError as e:
        st.error(str(e))
        st.stop()
    except Exception:  # noqa: BLE001
        import logging

        logging.getLogger("renewday").exception("import preview failed")
        st.error(tr("reason.unexpected"))
        st.stop()
    c = st.columns(4)
    c[0].metric(tr("import.new"), report.accepted)
    c[1].metric(tr("import.updated"), report.updated)
    c[2].metric(tr("import.warned"), len(report.warned))
    c[3].metric(tr("import.rejected"), len(report.rejected))
    st.caption(tr("import.header_at", row=plan.header_row, columns="、".join(tr(f"field.{f}") for f in plan.columns)))
    if report.rejected:
        st.subheader(tr("import.rejected_rows"))
        st.table(pd.DataFrame([{tr("import.row"): r["row"], tr("import.reason"): r["reason"]} for r in report.rejected])
                 .set_index(tr("import.row")))
    if report.warned:
        st.subheader(tr("import.warned_rows"))
        st.table(pd.DataFrame([{tr("import.row"): r["row"] or "—", tr("import.reason"): r["reason"]} for r in report.warned])
                 .set_index(tr("import.row")))
    n = report.accepted + report.updated
    if n and st.button(tr("import.commit", n=n), type="primary", key="import_commit"):
        with desk_action():
            done = importer.import_guests(eng, station.event_id, plan, lang=lang(), desk=station.desk,
                                          staff_id=station.staff_id)
            st.success(tr("import.done", new=done.accepted, updated=done.updated, rejected=len(done.rejected)))

st.divider()
st.subheader(tr("import.invitations"))
counts = invitation_counts(eng, station.event_id)
st.markdown(" · ".join(f"{tr('group.' + g)} {n}" for g, n in counts.items()) or tr("import.none"))
if counts:
    buf = io.BytesIO()
    export_invitations(eng, station.event_id, buf)
    st.download_button(tr("import.download_sms"), buf.getvalue(), file_name="invitations.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_sms")
    if st.button(tr("import.make_cards"), key="make_cards"):
        with desk_action():
            event, rows = invitation_rows(eng, station.event_id)
            zbuf = io.BytesIO()
            with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_STORED) as z:
                for r in rows:
                    z.writestr(f"{r['id']:05d}-{r['code']}.png",
                               invitation_card(event, name=r["name"], code=r["code"], advisor=r["advisor"]))
            ss["cards_zip"] = zbuf.getvalue()
    if ss.get("cards_zip"):
        st.download_button(tr("import.download_cards"), ss["cards_zip"], file_name="invitation-cards.zip",
                           mime="application/zip", key="dl_cards")

    st.subheader(tr("import.assignment"))
    event, rows = invitation_rows(eng, station.event_id)
    df = pd.DataFrame(rows)
    if not df.empty:
        table = df.pivot_table(index="advisor", columns="group", values="id", aggfunc="count", fill_value=0)
        table.columns = [tr(f"group.{c}") for c in table.columns]
        st.dataframe(table, width="stretch")
        with st.form("reassign"):
            who = st.selectbox(tr("import.guest"), rows, index=None, placeholder=tr("cashier.choose"),
                               format_func=lambda r: f"{r['name']} · {r['phone']} · {r['advisor'] or '—'}")
            staff = list_staff(eng)
            to = st.selectbox(tr("ui.advisor"), staff, format_func=lambda p: p.name)
            if st.form_submit_button(tr("import.reassign")) and who is not None:
                with desk_action():
                    reassign(eng, invitation_id=who["id"], advisor_id=to.id, staff_id=station.staff_id, desk=station.desk)
                    st.success(tr("ui.saved"))
