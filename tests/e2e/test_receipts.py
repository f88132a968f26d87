"""Issue 11's receipts in Chromium: a receipt that printed fine is found on the gift desk by the
phone's last digits and printed again, marked 副本, on the desk's (loopback) printer."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import cashier, checkin, gifts
from core.models import Invitation
from core.store import read_session
from tests.e2e.conftest import shot, sign_in
from tests.fakeprinter import decode
from tests.conftest import desk_staff

pytestmark = pytest.mark.browser


def test_find_a_printed_receipt_and_print_it_again(app, page):
    with read_session(app.engine) as s:
        code = s.execute(select(Invitation.code).where(Invitation.event_id == app.event_id)
                         .order_by(Invitation.id).offset(40).limit(1)).scalar_one()
    guest = checkin.find(app.engine, event_id=app.event_id, raw=code)[0]
    r = cashier.record_renewal(app.engine, event_id=app.event_id, invitation_id=guest["invitation_id"],
                               vehicle_id=guest["vehicles"][0]["id"], insurer="平安", compulsory="950",
                               commercial="2000", vehicle_tax="0", payment_method="cash", desk="收银台1", staff_id=desk_staff(app.engine))
    done = gifts.serve(app.engine, event_id=app.event_id, invitation_id=guest["invitation_id"],
                       renewal_id=r["renewal_id"], gift=True, draw=False, desk="礼品台1", staff_id=desk_staff(app.engine))
    assert done["job"]["status"] == "printed"
    before = len(app.printer.wait_for(1))
    assert "【副本 COPY】" not in decode(app.printer.received[-1])["lines"]

    page.set_viewport_size({"width": 1024, "height": 768})
    sign_in(page, app, "马礼品", "礼品台1")
    page.locator('[data-testid="stSidebarNavLink"]', has_text="礼品发放").click()
    page.get_by_text("查找并补打小票").click()
    box = page.get_by_label("小票号 / 客户姓名 / 手机尾号")
    box.fill(guest["phone"][-4:])
    box.press("Enter")
    row = page.get_by_text(done["job"]["receipt_no"])
    row.wait_for()
    page.locator(f".st-key-reprint_any_{done['job']['receipt_no']} button").click()
    page.get_by_text(f"小票已打印：{done['job']['receipt_no']}").wait_for()
    shot(page, "receipts-reprint-1024x768")
    got = app.printer.wait_for(before + 1)
    assert len(got) == before + 1
    lines = decode(got[-1])["lines"]
    assert "【副本 COPY】" in lines and any(done["job"]["receipt_no"] in line for line in lines)
