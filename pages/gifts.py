"""礼品发放: what is due, renewal gift and lucky draw with a reveal, the receipt, reclaim, stock."""
import streamlit as st

from core import gifts, receipts
from core.printing import render_image
from pages.common import (answered, desk_action, engine, esc, form_nonce, guest_lines, refusal_text, require_station,
                          scan_to_guest, scanner, spend_nonce, tr, verdict)

station = require_station("gifts")
GUEST_STATE = ("gift_reveal", "gift_offer", "gift_job", "gift_msg", "gift_celebrated")  # what a desk shows of one guest
eng = engine()
ss = st.session_state


def on_scan() -> None:
    scan_to_guest("gift", station.event_id, clear=GUEST_STATE)


def serve(invitation_id: int, renewal_id: int | None, *, gift: bool, draw: bool, kind: str = "renewal",
          gift_type_id: int | None = None, form: str = "", nonce: str | None = None) -> None:
    """One tap of a give/draw button. The button carries its form's nonce: a double click or a
    retried request replays the first answer (same result, same receipt), never a second gift."""
    ss["gift_offer"], ss["gift_msg"] = None, None
    answered()
    try:
        done = gifts.serve(eng, event_id=station.event_id, invitation_id=invitation_id, renewal_id=renewal_id,
                           gift=gift, draw=draw, kind=kind, gift_type_id=gift_type_id, desk=station.desk,
                           staff_id=station.staff_id, nonce=nonce)
    except Exception:  # noqa: BLE001 - what was saved stays saved; the receipt can be reprinted
        import logging

        logging.getLogger("renewday").exception("gift desk failed")
        ss["gift_msg"] = tr("reason.unexpected")
        return
    refusals = done.get("refusals") or ([done["refusal"]] if done["refusal"] is not None else [])
    ss["gift_sound"] = "red" if refusals else "green"
    if refusals:
        ss["gift_msg"] = " ".join(refusal_text(r) for r in refusals)
        for refusal in refusals:
            if refusal.reason == "out_of_stock" and refusal.info.get("substitute_id"):
                ss["gift_offer"] = {"renewal_id": renewal_id, "gift_type_id": refusal.info["substitute_id"], "kind": kind}
    if done["job"] is not None:  # something was saved: the button's next showing is a new tap
        if form:
            spend_nonce(form)
        reveal = {"gift": done["gift"]} if done["gift"] else {}
        if done["prize"] is not None:
            reveal.update(prize=done["prize"], won=done["won"])
        ss["gift_reveal"], ss["gift_celebrated"], ss["gift_job"] = reveal, False, done["job"]


st.title(tr("page.gifts"))
if receipts.desk_printer(eng, station.desk).connection == "none":  # say so before the first receipt, not after
    st.info(tr("giftdesk.no_printer", desk=esc(station.desk)), icon="🖨️")
st.text_input(tr("gifts.scan_label"), key="gift_scan", on_change=on_scan, placeholder=tr("checkin.scan_placeholder"))

if ss.get("gift_msg"):
    verdict("red", tr("gifts.refused"), [ss["gift_msg"]], foot=ss.get("gift_scanned", ""))
offer = ss.get("gift_offer")
if offer and ss.get("gift_guest"):
    form = f"gift_sub_{ss['gift_guest']}_{offer['renewal_id']}"
    nonce = form_nonce(form)
    st.button(tr("gifts.give_substitute"), key=nonce, type="primary", on_click=serve,
              args=(ss["gift_guest"], offer["renewal_id"]),
              kwargs={"gift": True, "draw": False, "kind": offer["kind"], "gift_type_id": offer["gift_type_id"],
                      "form": form, "nonce": nonce})
for m in ss.get("gift_matches", []):
    if st.button(f"{m['name']} · {m['phone']} · {m['plates'] or tr('ui.no_plate')}", key=f"gpick_{m['invitation_id']}"):
        for key in GUEST_STATE:
            ss.pop(key, None)
        ss["gift_guest"], ss["gift_matches"] = m["invitation_id"], []
        st.rerun()

reveal = ss.get("gift_reveal")
if reveal:
    lines = []
    if reveal.get("gift"):
        lines.append(tr("gifts.gift_given", gift=esc(reveal["gift"])))
    if "prize" in reveal:
        title = tr("gifts.won", prize=esc(reveal["prize"])) if reveal["won"] else tr("gifts.blank")
        verdict("green" if reveal["won"] else "blue", title, lines)
        if reveal["won"] and not ss.get("gift_celebrated"):
            st.balloons()
            ss["gift_celebrated"] = True
    else:
        verdict("green", lines[0] if lines else tr("ui.saved"))
job = ss.get("gift_job")
if job:
    if job["status"] == "failed":
        st.warning(tr("reason.printer_failed", error=job["error"]))
        if job.get("job_id") and st.button(tr("gifts.reprint"), key="gift_reprint_last"):
            with desk_action():
                ss["gift_job"] = receipts.reprint(eng, job_id=job["job_id"], desk=station.desk, staff_id=station.staff_id)
                st.rerun()
    elif job["status"] == "pending":  # saved, still being sent (or the send was cut off)
        st.info(tr("giftdesk.job_pending", receipt_no=job["receipt_no"]))
    elif job["status"] == "printed":
        st.success(tr("gifts.printed", receipt_no=job["receipt_no"]) + (f" · {tr('receipts.copy')}" if job.get("is_copy") else ""))
    elif job["status"] == "screen":  # no printer at this desk: the receipt below is the one to show
        st.info(tr("giftdesk.on_screen", receipt_no=job["receipt_no"]) + (f" · {tr('receipts.copy')}" if job.get("is_copy") else ""))
    if job.get("job_id"):
        with st.expander(tr("gifts.preview"), expanded=job["status"] == "screen"):
            view = receipts.preview(eng, job["job_id"])
            if view["render"] == "image":
                st.image(render_image(view["receipt"], view["paper_mm"]).convert("L"))
            else:
                st.code("\n".join(view["lines"]), language=None)

inv_id = ss.get("gift_guest")
if inv_id:
    due = gifts.entitlements(eng, event_id=station.event_id, invitation_id=inv_id)
    g = due["guest"]
    st.subheader(esc(g["name"] or g["phone"]))
    if ss.get("gift_scanned"):
        st.caption(ss["gift_scanned"])
    for line in guest_lines(g):
        st.markdown(line)
    if not due["renewals"]:
        st.info(tr("reason.not_renewed"))
    for r in due["renewals"]:
        with st.container(border=True):
            head = f"**{esc(r['plate'])}** · {tr('gifts.renewal')} {esc(r['receipt_no'])}"
            if r["voided"]:
                st.markdown(head + f" · ❌ {tr('gifts.voided')}")
                continue
            st.markdown(head)
            st.markdown(tr("gifts.status", gift=esc(r["gift_given"]) or tr("gifts.not_yet"), done=r["draws_done"],
                           allowed=r["draws_allowed"]) + ("" if not r["draw_results"] else " · " + "、".join(map(esc, r["draw_results"]))))
            c1, c2, c3 = st.columns(3)
            offer = due["renewal_gift"]
            sub_id = offer["substitute_id"] if offer["out"] else None  # the planned gift ran out: its substitute
            if r["gift_due"] and offer["out"]:
                st.warning(tr("receipts.gift_out", gift=esc(offer["gift"])) + (
                    tr("receipts.gift_out_sub", sub=esc(offer["substitute"])) if sub_id else tr("receipts.gift_out_none")))
            give = r["gift_due"] and (not offer["out"] or sub_id)
            # each button is keyed by its nonce: a tap already answered cannot act again
            forms = {f: f"gift_{f}_{r['renewal_id']}" for f in ("both", "only", "draw")}
            if give and r["draws_due"]:
                nonce = form_nonce(forms["both"])
                c1.button(tr("receipts.sub_and_draw", sub=offer["substitute"]) if sub_id else tr("gifts.gift_and_draw"),
                          key=nonce, type="primary", on_click=serve, args=(inv_id, r["renewal_id"]),
                          kwargs={"gift": True, "draw": True, "gift_type_id": sub_id, "form": forms["both"], "nonce": nonce})
            if give:
                nonce = form_nonce(forms["only"])
                c2.button(tr("receipts.sub_only", sub=offer["substitute"]) if sub_id else tr("gifts.gift_only"),
                          key=nonce, on_click=serve, args=(inv_id, r["renewal_id"]),
                          kwargs={"gift": True, "draw": False, "gift_type_id": sub_id, "form": forms["only"], "nonce": nonce})
            if r["draws_due"]:
                nonce = form_nonce(forms["draw"])
                c3.button(tr("gifts.draw", n=r["draws_due"]), key=nonce,
                          type="primary" if not give else "secondary", on_click=serve, args=(inv_id, r["renewal_id"]),
                          kwargs={"gift": False, "draw": True, "form": forms["draw"], "nonce": nonce})
            if not r["gift_due"] and not r["draws_due"]:
                st.caption(tr("reason.nothing_due"))
    if due["arrival_due"]:
        form = f"gift_arrival_{inv_id}"
        nonce = form_nonce(form)
        st.button(tr("gifts.arrival_gift"), key=nonce, on_click=serve, args=(inv_id, None),
                  kwargs={"gift": True, "draw": False, "kind": "arrival", "form": form, "nonce": nonce})
    for item in due["reclaim"]:
        c1, c2 = st.columns([3, 1])
        c1.warning(tr("gifts.reclaim", item=esc(item["item"])))
        if c2.button(tr("gifts.reclaimed"), key=f"reclaim_{item['kind']}_{item['id']}"):
            with desk_action():
                gifts.mark_reclaimed(eng, kind=item["kind"], item_id=item["id"], desk=station.desk, staff_id=station.staff_id)
                st.rerun()

with st.expander(tr("gifts.printer")):
    if st.button(tr("gifts.check_printer"), key="gift_check_printer"):
        st.markdown(tr("gifts.printer_status", status=tr(f"printer.{receipts.status_of(eng, station.desk)}")))
    if st.button(tr("gifts.test_print"), key="gift_test_print"):
        with desk_action():
            out = receipts.test_print(eng, desk=station.desk, staff_id=station.staff_id, event_id=station.event_id)
            (st.success if out["status"] in ("printed", "screen") else st.warning)(
                tr("gifts.test_result", status=tr(f"job.{out['status']}"), error=out["error"]))
    failed = receipts.jobs(eng, event_id=station.event_id, desk=station.desk, failed_only=True)
    if failed:
        st.markdown(f"**{tr('receipts.unprinted', n=len(failed))}**")
    for j in failed:
        c1, c2 = st.columns([3, 1])
        c1.markdown(f"{esc(j['receipt_no'])} · {j['time']} · {esc(j['error'])}")
        if c2.button(tr("gifts.reprint"), key=f"reprint_{j['job_id']}"):
            with desk_action():
                ss["gift_job"] = receipts.reprint(eng, job_id=j["job_id"], desk=station.desk, staff_id=station.staff_id)
                st.rerun()

with st.expander(tr("receipts.find")):
    st.text_input(tr("receipts.search"), key="gift_receipt_q", placeholder=tr("receipts.search_hint"))
    found = receipts.search(eng, event_id=station.event_id, query=ss.get("gift_receipt_q", ""), limit=15)
    if not found:
        st.caption(tr("receipts.none"))
    for row in found:
        c1, c2 = st.columns([4, 1])
        state = tr("job.printed") if row["printed"] else tr(f"job.{row['status']}")
        c1.markdown(f"**{esc(row['receipt_no'])}** · {row['time']} · {esc(row['title'])} · {esc(row['customer'])} "
                    f"{esc(row['phone'])}  \n{esc(row['items'])} · {state}")
        if c2.button(tr("receipts.reprint_copy") if row["delivered"] else tr("gifts.reprint"),
                     key=f"reprint_any_{row['receipt_no']}"):
            with desk_action():
                ss["gift_job"] = receipts.reprint(eng, job_id=row["job_id"], desk=station.desk, staff_id=station.staff_id)
                st.rerun()

with st.expander(tr("gifts.stock")):
    for row in gifts.stock_report(eng, station.event_id):
        text = tr("gifts.stock_row", name=esc(row["name"]), kind=tr(f"kind.{row['kind']}"), initial=row["initial"],
                  out=row["handed_out"], left=row["left"])
        (st.warning if row["low"] else st.markdown)(("⚠️ " if row["low"] else "") + text)

scanner("gift_scan", sound=ss.get("gift_sound"))  # last: a queued scan goes in once this page has answered
