"""客户导入: the DMS list, previewed from reads only, decided by the manager, committed once;
then the SMS sheet, the cards per advisor and the assignment."""
import io
import re

import pandas as pd
import streamlit as st

from core import importer
from core.config import settings
from core.errors import DeskError
from core.events import invitation_counts, reassign
from core.invitations import card_zips, export_invitations, invitation_rows, set_invitation_details, sms_text
from core.validate import format_plate
from pages.common import (counters_strip, desk_action, engine, lang, private_download, refusal_text, require_station,
                          tr)

station = require_station("import")
eng = engine()
ss = st.session_state
PAGE_SIZE = 50
UNASSIGNED = -1  # the "unassigned" choice of an advisor name (None = not chosen yet)
_MD = re.compile(r"([\\`*_\[\]{}()#+\-.!|~<>$:])")


def md(text) -> str:
    """Text from a sheet (names, headers, addresses) where Streamlit renders Markdown (labels,
    captions, messages): every Markdown character escaped, so a name is only ever text."""
    return _MD.sub(r"\\\1", str(text))


STAGES = {"read": "import.stage.read", "validate": "import.stage.validate", "customers": "import.stage.customers",
          "vehicles": "import.stage.vehicles", "invitations": "import.stage.invitations", "assign": "import.stage.assign"}
OUTCOMES = {"confirmed": "import.outcome.confirmed", "unsure": "import.outcome.unsure",
            "no_answer": "import.outcome.no_answer", "not_interested": "import.outcome.not_interested"}
NOTES = {"inactive": "import.advisor_note.inactive", "not_caller": "import.advisor_note.not_caller"}


def progress_bar():
    bar = st.progress(0.0, text=tr("import.stage.read"))

    def tick(fraction: float, stage: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=tr(STAGES.get(stage, "import.stage.read")))
    return bar, tick


WORKER_FROM_BYTES = 1 << 20  # smaller sheets are read here: starting a worker would cost more


@st.cache_resource
def _worker_pool():
    """One worker process per server for reading sheets, and the jobs it runs, by file hash."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")
    return ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=importer.worker_init), ctx.Manager(), {}


def plan_outside(name: str, content: bytes, digest: str, limit: int, tick) -> importer.ImportPlan:
    """The plan of a big sheet is made in the worker process, outside this rerun (a rerun that
    interrupts the wait finds the same job again by the file's hash)."""
    if len(content) < WORKER_FROM_BYTES:
        return importer.plan_import(name, content, progress=tick, max_bytes=limit)
    import time

    from concurrent.futures.process import BrokenProcessPool

    pool, manager, jobs = _worker_pool()
    job = jobs.get(digest)
    if job is None:
        progress = manager.Value("d", 0.0)
        job = jobs[digest] = (pool.submit(importer.plan_in_worker, name, content, limit, progress), progress)
    future, progress = job
    while not future.done():
        value = progress.value
        tick(value, "validate" if value >= 0.1 else "read")
        time.sleep(0.25)
    jobs.pop(digest, None)
    try:
        return future.result()
    except BrokenProcessPool:  # the worker died on this file; the server did not
        _worker_pool.clear()
        raise importer.ImportFileError("import.unreadable", name=name) from None


def load_plan(upload) -> importer.ImportPlan | None:
    """The plan of the uploaded file, made once per file (by its hash) and kept for the reruns."""
    limit = settings().max_upload_bytes
    if upload.size > limit:
        st.error(md(tr("import.too_big", size=f"{upload.size / 1048576:.1f}", limit=f"{limit / 1048576:.0f}")))
        return None
    cached = ss.get("import_plan")
    if cached is not None and ss.get("import_file_id") == upload.file_id:
        return cached
    content = upload.getvalue()
    import hashlib

    digest = hashlib.sha256(content).hexdigest()
    if cached is not None and cached.digest == digest:
        ss["import_file_id"] = upload.file_id
        return cached
    bar, tick = progress_bar()
    try:
        plan = plan_outside(upload.name, content, digest, limit, tick)
        if not plan.rows:
            raise importer.ImportFileError("import.empty_file")
    except importer.ImportFileError as e:
        bar.empty()
        st.error(md(e.text(lang())))  # a code: said in the station's language
        return None
    except Exception:  # noqa: BLE001 - no traceback reaches a desk
        bar.empty()
        import logging

        logging.getLogger("renewday").exception("import preview failed")
        st.error(tr("reason.unexpected"))
        return None
    bar.empty()
    ss["import_plan"], ss["import_file_id"] = plan, upload.file_id
    ss.pop("import_preview", None)
    return plan


def status(r: importer.RowPlan, notes: dict[int, str]) -> str:
    if r.errors:
        return tr("import.status_bad")
    if r.duplicate_of is not None:
        return tr("import.status_dup")
    return tr("import.status_warn") if r.warnings or r.row in notes else tr("import.status_ok")


def reason(r: importer.RowPlan, notes: dict[int, str], language: str) -> str:
    text = importer.row_reason(r, language)
    if r.row in notes and not r.errors:
        text = "；".join(x for x in (text, notes[r.row]) if x)
    return text


def cleaned_rows(plan: importer.ImportPlan, notes: dict[int, str]) -> None:
    """The rows as they will be written, paged; the filter shows the ones to look at. `notes`:
    the rows that meet a store customer, with what will happen to each."""
    st.subheader(tr("import.cleaned_rows"))
    language = lang()
    kinds = {"all": plan.rows, "warned": [r for r in plan.rows if (r.warnings or r.row in notes) and not r.errors],
             "rejected": [r for r in plan.rows if r.errors]}
    which = st.radio(tr("import.col_status"), list(kinds), horizontal=True, key="import_filter",
                     format_func=lambda k: {"all": tr("import.filter_all"), "warned": tr("import.m_warned"),
                                            "rejected": tr("import.m_rejected")}[k] + f" ({len(kinds[k])})")
    rows = kinds[which]
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = st.number_input(tr("import.page"), min_value=1, max_value=pages, value=1, step=1,
                           key=f"import_page_{which}") if pages > 1 else 1
    st.caption(tr("import.page_of", page=page, pages=pages, n=len(rows)))
    chunk = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    data = [{
        tr("import.row"): r.row, tr("import.col_status"): status(r, notes),
        tr("field.name"): r.data.get("name", ""), tr("field.phone"): r.data.get("phone") or "",
        tr("import.reason"): reason(r, notes, language),
        tr("field.plate"): format_plate(r.data.get("plate")), tr("field.advisor"): r.data.get("advisor", ""),
        tr("field.category"): tr(f"group.{r.data.get('group', 'natural')}"),
        tr("field.vin"): r.data.get("vin") or "", tr("field.model"): r.data.get("model", ""),
        tr("field.commercial_expiry"): str(r.data.get("commercial_expiry") or ""),
        tr("field.compulsory_expiry"): str(r.data.get("compulsory_expiry") or ""),
        tr("field.insurer_last"): r.data.get("insurer_last", ""),
        tr("field.call_outcome"): tr(OUTCOMES[r.data["call_outcome"]]) if r.data.get("call_outcome") else "",
    } for r in chunk]
    if data:
        st.dataframe(pd.DataFrame(data), hide_index=True, width="stretch",
                     column_config={tr("import.reason"): st.column_config.TextColumn(width="large")})


def advisor_step(plan: importer.ImportPlan) -> tuple[dict[str, int | None], list[str]]:
    """Each advisor name of the sheet -> a caller or unassigned, chosen by the manager."""
    st.subheader(tr("import.advisors_title"))
    people = importer.list_callers(eng)
    if not people:
        st.warning(tr("import.no_callers"))
    matches = importer.match_advisors(eng, plan)
    if not matches:
        st.caption(tr("import.advisors_none"))
        return {}, []
    st.caption(tr("import.advisors_help"))
    names = {p.id: f"{p.name} · {tr('role.' + p.role)}" for p in people}
    chosen: dict[str, int | None] = {}
    pending: list[str] = []
    cols = st.columns(3)
    for i, m in enumerate(matches):
        options = ([m.suggestion_id] if m.suggestion_id else []) + [p.id for p in people if p.id != m.suggestion_id]
        options.append(UNASSIGNED)
        index = options.index(m.staff_id) if m.staff_id in options else None
        label = tr("import.advisor_rows", name=md(m.name), n=m.rows)
        if m.note:
            label += f"（{tr(NOTES[m.note])}）"
        with cols[i % 3]:
            value = st.selectbox(
                label, options, index=index, key=f"adv_{plan.preview_id}_{i}", placeholder=tr("import.advisor_choose"),
                format_func=lambda v, s=m.suggestion_id: tr("import.advisor_unassigned") if v == UNASSIGNED else (
                    tr("import.advisor_suggested", name=names[v]) if v == s else names[v]))
        if value is None:
            pending.append(m.name)
        else:
            chosen[m.name] = None if value == UNASSIGNED else value
    return chosen, pending


def phone_step(plan: importer.ImportPlan) -> frozenset[str]:
    if not plan.phone_groups:
        return frozenset()
    st.subheader(tr("import.phones_title"))
    st.caption(tr("import.phones_help"))
    by_row = {r.row: r for r in plan.rows}
    merge = set()
    for phone, rows in plan.phone_groups.items():
        listing = "、".join(f"{tr('import.row')} {n}: {by_row[n].data['name'] or '—'}" for n in rows)
        if st.checkbox(md(tr("import.phone_merge", phone=phone, rows=listing)), key=f"merge_{plan.preview_id}_{phone}"):
            merge.add(phone)
    return frozenset(merge)


def store_step(plan: importer.ImportPlan) -> tuple[dict[int, str], dict[int, str]]:
    """Rows that meet a customer already in the store: listed, each kind with its default, and the
    rows the manager wants handled the other way. Returns (row -> action, row -> preview note)."""
    cached = ss.get("import_store_matches")
    if cached and cached[0] == plan.preview_id:
        met = cached[1]
    else:
        met = importer.store_matches(eng, plan)  # reads only
        ss["import_store_matches"] = (plan.preview_id, met)
    if not met:
        return {}, {}
    st.subheader(tr("import2.store_title", n=len(met)))
    st.caption(tr("import2.store_help"))
    decided: dict[int, str] = {}
    for kind, (usual, other) in importer.STORE_ACTIONS.items():
        rows = [m for m in met.values() if m.kind == kind]
        if not rows:
            continue
        st.markdown(md(tr(f"import2.kind.{kind}", n=len(rows))))
        by_row = {m.row: m for m in rows}
        picked = st.multiselect(
            tr(f"import2.pick.{kind}"), list(by_row), default=[m.row for m in rows if m.default == other],
            key=f"store_{plan.preview_id}_{kind}", placeholder=tr("import.advisor_choose"),
            format_func=lambda n, b=by_row: tr("import2.option", row=n, name=b[n].name or "—",
                                               store_name=b[n].store_name or "—", store_phone=b[n].store_phone))
        for m in rows:
            decided[m.row] = other if m.row in picked else usual
    language = lang()
    notes = {row: m.text(language, decided[row]) for row, m in met.items()}
    st.dataframe(pd.DataFrame([{
        tr("import2.col_row"): m.row,
        tr("import2.col_sheet"): f"{m.name or '—'} · {m.phone} · {format_plate(m.plate)}",
        tr("import2.col_store"): f"{m.store_name or '—'} · {m.store_phone or '—'}",
        tr("import2.col_action"): tr(f"import2.action.{decided[m.row]}")} for m in met.values()]),
        hide_index=True, width="stretch")
    return decided, notes


def preview_counts(plan, choices) -> importer.ImportReport:
    """Reads only (no write lock), cached for this preview and these choices."""
    key = (plan.preview_id, tuple(sorted(choices.advisors.items())), tuple(sorted(choices.merge_phones)),
           tuple(sorted(choices.store.items())))
    cached = ss.get("import_preview")
    if cached and cached[0] == key:
        return cached[1]
    report = importer.preview_import(eng, station.event_id, plan, choices, lang=lang())
    ss["import_preview"] = (key, report)
    return report


st.title(tr("page.import"))
st.caption(tr("import.help"))
upload = st.file_uploader(tr("import.upload"), type=["xlsx", "xls", "csv"], key="import_file")
plan = load_plan(upload) if upload is not None else None
if plan is not None:
    st.header(tr("import.preview_title"))
    st.caption(tr("import.columns_read", row=plan.header_row,
                  columns="、".join(tr(f"field.{f}") for f in sorted(plan.columns, key=plan.columns.get))))
    if plan.ignored:
        st.caption(md(tr("import.columns_ignored", columns="、".join(plan.ignored))))
    else:
        st.caption(tr("import.columns_ignored_none"))
    done = ss.get("import_done")
    already = done is not None and done[0] == plan.nonce
    chosen, pending = advisor_step(plan)
    merge = phone_step(plan)
    store_actions, notes = store_step(plan)
    counted = importer.ImportChoices(advisors={**chosen, **{n: None for n in pending}}, merge_phones=merge,
                                     store=store_actions)
    try:
        report = preview_counts(plan, counted)
    except DeskError as e:
        st.error(md(refusal_text(e)))
        st.stop()
    counters_strip([(tr("import.m_new_customers"), report.new_customers, ""),
                    (tr("import.m_updated_customers"), report.updated_customers, ""),
                    (tr("import.m_new_invitations"), report.new_invitations, ""),
                    (tr("import.m_unassigned"), report.unassigned, ""),
                    (tr("import.m_warned"), len(report.warned), ""),
                    (tr("import.m_rejected"), len(report.rejected), "")])  # wraps two by two on a phone
    cleaned_rows(plan, notes)

    st.subheader(tr("import.commit_title"))
    if already:
        r = done[1]
        st.success(tr("import.committed", new=r.new_customers, updated=r.updated_customers,
                      invites=r.new_invitations, rejected=len(r.rejected)))
        st.info(tr("import.committed_note"))
    elif pending:
        st.warning(tr("import.advisors_pending", n=len(pending)))
    elif report.accepted + report.updated:
        if st.button(tr("import.commit_n", new=report.new_customers, updated=report.updated_customers,
                        invites=report.new_invitations), type="primary", key="import_commit"):
            bar, tick = progress_bar()
            try:
                result = importer.commit_import(eng, event_id=station.event_id, plan=plan,
                                                choices=importer.ImportChoices(advisors=chosen, merge_phones=merge,
                                                                               store=store_actions),
                                                staff_id=station.staff_id, desk=station.desk,
                                                lang=lang(), progress=tick)
                ss["import_done"] = (plan.nonce, result)
                bar.empty()
                st.rerun()
            except DeskError as e:
                bar.empty()
                (st.info if e.reason == "import_already_done" else st.error)(md(refusal_text(e)))
            except Exception:  # noqa: BLE001
                bar.empty()
                import logging

                logging.getLogger("renewday").exception("import commit failed")
                st.error(tr("reason.unexpected"))

st.divider()
st.subheader(tr("import.invitations"))
counts = invitation_counts(eng, station.event_id)
st.text(" · ".join(f"{tr('group.' + g)} {n}" for g, n in counts.items()) or tr("import.none"))
if counts:
    event, rows = invitation_rows(eng, station.event_id)
    st.subheader(tr("import.sms_settings"))
    with st.form("sms_details"):
        a, b = st.columns([3, 1])
        address = a.text_input(tr("import.sms_address"), value=event.address, max_chars=60)
        when = b.text_input(tr("import.sms_time"), value=event.start_time, max_chars=11)
        if st.form_submit_button(tr("import.sms_save")):
            with desk_action():
                set_invitation_details(eng, event_id=station.event_id, address=address, start_time=when,
                                       staff_id=station.staff_id, desk=station.desk)
                ss.pop("sms_sheet", None)
                st.rerun()
    if not (event.address and event.start_time):
        st.warning(tr("import.sms_missing"))
    short = st.radio(tr("import.sms_style"), [True, False], horizontal=True, key="sms_short",
                     format_func=lambda v: tr("import.sms_short") if v else tr("import.sms_long")) is True
    sample = sms_text(event, rows[0]["name"], rows[0]["code"], short=short)
    st.caption(md(tr("import.sms_sample", n=len(sample), text=sample)))
    if st.button(tr("import.make_sms"), key="make_sms"):
        with desk_action():
            buf = io.BytesIO()
            export_invitations(eng, station.event_id, buf, short=short)
            ss["sms_sheet"] = (short, buf.getvalue())
    if ss.get("sms_sheet") and ss["sms_sheet"][0] == short:
        private_download(tr("import.download_sms"), ss["sms_sheet"][1], file_name="invitations.xlsx",
                         mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_sms")

    st.subheader(tr("import.cards_title"))
    if st.button(tr("import.make_cards"), key="make_cards"):
        bar = st.progress(0.0, text=tr("import.stage.cards", done=0, total=len(rows)))
        with desk_action():
            ss["cards"] = card_zips(eng, station.event_id, unassigned=tr("import.unassigned_name"),
                                    progress=lambda d, n: bar.progress(d / n, text=tr("import.stage.cards", done=d,
                                                                                       total=n)))
        bar.empty()
    if ss.get("cards"):
        st.caption(tr("import.cards_ready", n=sum(n for n, _ in ss["cards"].values())))
        cols = st.columns(4)
        for i, (advisor, (n, data)) in enumerate(ss["cards"].items()):
            with cols[i % 4]:
                private_download(md(tr("import.download_cards_for", advisor=advisor, n=n)), data,
                                 file_name=f"邀请卡-{advisor}.zip", mime="application/zip", key=f"dl_cards_{i}")

    st.subheader(tr("import.assignment"))
    df = pd.DataFrame(rows)
    if not df.empty:
        df["advisor"] = df["advisor"].replace("", tr("import.unassigned_name"))
        table = df.pivot_table(index="advisor", columns="group", values="id", aggfunc="count", fill_value=0)
        table.columns = [tr(f"group.{c}") for c in table.columns]
        table.index.name = tr("ui.advisor")
        st.dataframe(table, width="stretch")
        with st.form("reassign"):
            who = st.selectbox(tr("import.guest"), rows, index=None, placeholder=tr("cashier.choose"),
                               format_func=lambda r: f"{r['name']} · {r['phone']} · {r['advisor'] or '—'}")
            to = st.selectbox(tr("ui.advisor"), importer.list_callers(eng), format_func=lambda p: p.name)
            if st.form_submit_button(tr("import.reassign")) and who is not None and to is not None:
                with desk_action():
                    reassign(eng, invitation_id=who["id"], advisor_id=to.id, staff_id=station.staff_id, desk=station.desk)
                    st.success(tr("ui.saved"))
