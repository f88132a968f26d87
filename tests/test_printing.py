"""Receipts against a real TCP socket on loopback that plays the printer."""
from __future__ import annotations

import time

import pytest

from core import cashier, checkin, gifts, receipts
from core.printing import Receipt, build_receipt, printer_status, render_image, send_bytes
from tests.fakeprinter import FakePrinter, decode, free_port
from tests.conftest import desk_staff


@pytest.fixture
def printer():
    p = FakePrinter()
    yield p
    p.close()


def sample(**kw) -> Receipt:
    base = dict(store="演示大众4S店", event="冬季续保直销会", title="续保礼品领取凭证", receipt_no="LP01-00001",
                time="2026-12-05 10:32:11", desk="礼品1", staff="马礼品", customer="张*明", phone="138****5678",
                plates="粤B·***45", items=[("续保礼", "汽车应急工具包 ×1"), ("抽奖第1次", "便携洗车机")])
    base.update(kw)
    return Receipt(**base)


@pytest.mark.parametrize("paper", [58, 80])
def test_text_receipt_decodes_to_the_chinese_lines(paper):
    data = build_receipt(sample(items=[("续保礼", "工具包 ×1"), ("价格", "¥128.00"), ("备注", "“”，。！")]), paper_mm=paper)
    out = decode(data)
    assert "续保礼品领取凭证" in out["lines"] and "客户：张*明  138****5678" in out["lines"]
    assert "车牌：粤B·***45" in out["lines"]
    assert "价格：￥128.00" in out["lines"]  # not a 4-byte GB18030 ¥
    assert "备注：“”，。！" in out["lines"]  # punctuation only, not '?????'
    assert any(line.startswith("客户签名：") for line in out["lines"])
    assert out["qrs"] == ["LP01-00001"] and out["cut"]
    assert data.count(b"\x1c&") == data.count(b"\x1c.") > 5  # every line in Chinese mode
    assert b"\x81\x30\x84\x36" not in data  # GB18030's ¥
    sign = next(line for line in out["lines"] if line.startswith("客户签名"))
    assert len(sign.encode("gbk")) <= {58: 32, 80: 48}[paper]


def test_image_receipt_is_a_raster_of_the_paper_width():
    data = build_receipt(sample(), render="image", paper_mm=58)
    out = decode(data)
    assert out["image"] and out["cut"] and out["lines"] == []
    img = render_image(sample(), 58)
    assert img.width == 384 and img.height > 300


def test_send_to_a_printer_that_answers(printer):
    data = build_receipt(sample())
    result = send_bytes("127.0.0.1", printer.port, data, timeout=2)
    assert result.ok and result.status == "online"
    got = printer.wait_for(1)[0]
    assert got.startswith(data)  # the exact bytes, then the status query
    assert printer_status("127.0.0.1", printer.port) == "online"


@pytest.mark.parametrize("mode,error", [("silent", "无应答"), ("close_mid", "断开"), ("paper_out", "缺纸")])
def test_printer_faults_fail_within_the_timeout(mode, error):
    p = FakePrinter(mode)
    try:
        start = time.monotonic()
        result = send_bytes("127.0.0.1", p.port, build_receipt(sample()), timeout=1.5)
        assert time.monotonic() - start < 3
        assert not result.ok and error in result.error
    finally:
        p.close()


def test_connection_refused():
    result = send_bytes("127.0.0.1", free_port(), b"x", timeout=1)
    assert not result.ok and "拒绝" in result.error
    assert printer_status("127.0.0.1", free_port(), timeout=0.5) == "unknown"


def serve_guest(seeded):
    g = checkin.find(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[0])[0]
    r = cashier.record_renewal(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                               vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950", commercial="3000",
                               vehicle_tax="0", payment_method="cash", desk="收银1", staff_id=seeded.cashier_id)
    gi = gifts.hand_out_gift(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                             renewal_id=r["renewal_id"], desk="礼品1", staff_id=seeded.gift_staff_id)
    d = gifts.draw_prize(seeded.engine, event_id=seeded.event_id, renewal_id=r["renewal_id"], desk="礼品1",
                         staff_id=seeded.gift_staff_id)
    return g, gi, d


def test_hand_out_receipt_reaches_the_printer_masked(seeded_sqlite, printer):
    seeded = seeded_sqlite
    receipts.save_desk_printer(seeded.engine, desk="礼品1", connection="network", host="127.0.0.1", port=printer.port)
    g, gi, d = serve_guest(seeded)
    job = receipts.issue_receipt(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"], desk="礼品1",
                                 staff_id=seeded.gift_staff_id, gift_issue_ids=[gi["gift_issue_id"]], draw_ids=[d["draw_id"]])
    assert job["status"] == "printed"
    text = "\n".join(decode(printer.wait_for(1)[0])["lines"])
    from core.privacy import mask_name, mask_phone

    assert mask_name(g["name"]) in text and mask_phone(g["phone"]) in text
    assert g["name"] not in text.replace(mask_name(g["name"]), "") or len(g["name"]) == 1
    assert g["phone"] not in text
    assert "汽车应急工具包" in text and d["prize"] in text and job["receipt_no"] in text
    assert decode(printer.received[0])["qrs"] == [job["receipt_no"]]


def test_failed_job_stays_until_printed_and_copy_only_after_a_real_print(seeded):
    dead_port = free_port()
    receipts.save_desk_printer(seeded.engine, desk="礼品1", connection="network", host="127.0.0.1", port=dead_port)
    g, gi, d = serve_guest(seeded)
    job = receipts.issue_receipt(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"], desk="礼品1",
                                 staff_id=desk_staff(seeded.engine), gift_issue_ids=[gi["gift_issue_id"]], draw_ids=[d["draw_id"]])
    assert job["status"] == "failed"
    again = receipts.reprint(seeded.engine, job_id=job["job_id"], desk="礼品1")  # printer still dead
    assert again["status"] == "failed"
    # one row per unprinted receipt (its latest attempt), not one per attempt
    assert [j["job_id"] for j in receipts.jobs(seeded.engine, event_id=seeded.event_id, failed_only=True)] == [again["job_id"]]
    # the hand-out itself is saved whatever the printer did
    assert not gifts.entitlements(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"])["renewals"][0]["gift_due"]
    p = FakePrinter()
    try:
        receipts.save_desk_printer(seeded.engine, desk="礼品1", connection="network", host="127.0.0.1", port=p.port)
        first_paper = receipts.reprint(seeded.engine, job_id=job["job_id"], desk="礼品1", staff_id=seeded.gift_staff_id)
        assert first_paper["status"] == "printed" and first_paper["receipt_no"] == job["receipt_no"]
        # the customer's only paper is the original, not a 副本
        assert not first_paper["is_copy"] and "【副本 COPY】" not in decode(p.wait_for(1)[0])["lines"]
        assert receipts.jobs(seeded.engine, event_id=seeded.event_id, failed_only=True) == []  # it left the list
        copy = receipts.reprint(seeded.engine, job_id=first_paper["job_id"], desk="礼品1")
        assert copy["status"] == "printed" and copy["is_copy"] and copy["receipt_no"] == job["receipt_no"]
        assert "【副本 COPY】" in decode(p.wait_for(2)[1])["lines"]
    finally:
        p.close()


def test_a_receipt_that_printed_can_be_printed_again_from_the_search(seeded, printer):
    receipts.save_desk_printer(seeded.engine, desk="礼品1", connection="network", host="127.0.0.1", port=printer.port)
    g, gi, d = serve_guest(seeded)
    job = receipts.issue_receipt(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"], desk="礼品1",
                                 staff_id=desk_staff(seeded.engine), gift_issue_ids=[gi["gift_issue_id"]], draw_ids=[d["draw_id"]])
    assert job["status"] == "printed"
    for q in (job["receipt_no"], job["receipt_no"][-3:], g["name"][:2], g["phone"][-4:], ""):
        found = receipts.search(seeded.engine, event_id=seeded.event_id, query=q)
        assert [r["receipt_no"] for r in found] == [job["receipt_no"]], q
    assert receipts.search(seeded.engine, event_id=seeded.event_id, query="不存在的人") == []
    row = receipts.search(seeded.engine, event_id=seeded.event_id, query=g["phone"][-4:])[0]
    assert row["printed"] and row["title"] == "续保礼品领取凭证" and "汽车应急工具包" in row["items"]
    from core.privacy import mask_name

    assert row["customer"] == mask_name(g["name"])
    copy = receipts.reprint(seeded.engine, job_id=row["job_id"], desk="礼品1", staff_id=seeded.gift_staff_id)
    assert copy["is_copy"] and "【副本 COPY】" in decode(printer.wait_for(2)[1])["lines"]
    from sqlalchemy import select

    from core.models import AuditEntry
    from core.store import read_session

    with read_session(seeded.engine) as s:
        assert s.execute(select(AuditEntry.raw_input).where(AuditEntry.action == "reprint")).scalars().all() == [job["receipt_no"]]


def test_test_prints_take_no_receipt_number_and_titles_follow_the_kind(seeded, printer):
    receipts.save_desk_printer(seeded.engine, desk="礼品1", connection="network", host="127.0.0.1", port=printer.port)
    for _ in range(3):
        assert receipts.test_print(seeded.engine, desk="礼品1", staff_id=seeded.gift_staff_id)["receipt_no"].startswith("TEST-")
    g = checkin.check_in(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[0], desk="签到1", staff_id=desk_staff(seeded.engine))
    done = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"], kind="arrival",
                       gift=True, draw=False, desk="礼品1", staff_id=desk_staff(seeded.engine))
    assert done["job"]["receipt_no"] == f"LP{seeded.event_id:02d}-00001"  # the first real receipt
    assert "到店礼领取凭证" in decode(printer.wait_for(4)[3])["lines"]
    _, gi, d = serve_guest(seeded)
    draw_only = receipts.issue_receipt(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                                       desk="礼品1", staff_id=desk_staff(seeded.engine), draw_ids=[d["draw_id"]])
    assert draw_only["receipt_no"] == f"LP{seeded.event_id:02d}-00002"
    assert "抽奖领奖凭证" in decode(printer.wait_for(5)[4])["lines"]
    receipts.reprint(seeded.engine, job_id=draw_only["job_id"], desk="礼品1")  # a reprint takes no number either
    both = receipts.issue_receipt(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                                  desk="礼品1", staff_id=desk_staff(seeded.engine), gift_issue_ids=[gi["gift_issue_id"]])
    assert both["receipt_no"] == f"LP{seeded.event_id:02d}-00003"
    assert "续保礼品领取凭证" in decode(printer.wait_for(7)[6])["lines"]


def test_silent_printer_frees_the_desk(seeded_sqlite):
    seeded = seeded_sqlite
    p = FakePrinter("silent")
    try:
        receipts.save_desk_printer(seeded.engine, desk="礼品1", connection="network", host="127.0.0.1", port=p.port,
                                   timeout_s=2.0)
        g, gi, d = serve_guest(seeded)
        start = time.monotonic()
        job = receipts.issue_receipt(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                                     desk="礼品1", staff_id=desk_staff(seeded.engine), gift_issue_ids=[gi["gift_issue_id"]])
        assert time.monotonic() - start < 3.5
        assert job["status"] == "failed" and "无应答" in job["error"]
    finally:
        p.close()


def test_screen_only_desk_keeps_the_receipt(seeded_sqlite):
    seeded = seeded_sqlite
    g, gi, d = serve_guest(seeded)
    job = receipts.issue_receipt(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"], desk="礼品9",
                                 staff_id=desk_staff(seeded.engine), gift_issue_ids=[gi["gift_issue_id"]], draw_ids=[d["draw_id"]])
    assert job["status"] == "screen"
    view = receipts.preview(seeded.engine, job["job_id"])
    assert any("续保礼：汽车应急工具包" in line for line in view["lines"])


def test_printer_settings_are_checked(seeded_sqlite):
    from core.errors import DeskError

    with pytest.raises(DeskError, match="printer_settings_invalid"):
        receipts.save_desk_printer(seeded_sqlite.engine, desk="礼品1", connection="network", host="", port=9100)
    with pytest.raises(DeskError, match="printer_settings_invalid"):
        receipts.save_desk_printer(seeded_sqlite.engine, desk="礼品1", connection="network", host="x", port=9100,
                                   timeout_s=60)


def test_serve_keeps_and_prints_the_gift_when_the_draw_is_refused(seeded_sqlite, printer):
    """The desk's button: gift saved, draw refused (box empty) -> the gift is kept and printed."""
    from sqlalchemy import update

    from core.models import Event, GiftType
    from core.store import write_session

    seeded = seeded_sqlite
    receipts.save_desk_printer(seeded.engine, desk="礼品1", connection="network", host="127.0.0.1", port=printer.port)
    g = checkin.find(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[0])[0]
    r = cashier.record_renewal(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                               vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950", commercial="3000",
                               vehicle_tax="0", payment_method="cash", desk="收银1", staff_id=desk_staff(seeded.engine))
    with write_session(seeded.engine) as s:
        s.execute(update(GiftType).where(GiftType.kind == "prize").values(stock=0))
        s.get(Event, seeded.event_id).draw_blank_tickets = 0
    done = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                       renewal_id=r["renewal_id"], gift=True, draw=True, desk="礼品1", staff_id=desk_staff(seeded.engine))
    assert done["gift"] == "汽车应急工具包" and done["refusal"].reason == "box_empty"
    assert done["job"]["status"] == "printed"
    text = "\n".join(decode(printer.wait_for(1)[0])["lines"])
    assert "续保礼：汽车应急工具包 ×1" in text and "抽奖" not in text


# --- receipts fit the paper: wrapped, never cut ----------------------------------------------
LONG_STORE = "广州市天河区黄埔大道西粤顺通汽车销售服务有限公司4S店"
LONG_PRIZE = "多功能汽车应急救援工具套装（含搭电线、拖车绳、灭火器、警示牌）"


def printed_rows(data: bytes) -> tuple[list[tuple[str, int]], int]:
    """The text lines as the printer lays them out: (text, width multiplier from GS !), and how
    many raster images were sent. Strips the same command sequences as tests.fakeprinter.decode."""
    rows, images, buf, scale, i = [], 0, bytearray(), 1, 0
    while i < len(data):
        two = data[i:i + 2]
        if two == b"\x1b@" or two in (b"\x1c&", b"\x1c."):
            i += 2
        elif two == b"\x1d!":
            scale = 1 + (data[i + 2] >> 4)
            i += 3
        elif two in (b"\x1ba", b"\x1bE", b"\x1bd"):
            i += 3
        elif two == b"\x1dV":
            i += 4 if data[i + 2] in (0x41, 0x42) else 3
        elif data[i:i + 3] == b"\x1d(k":
            i += 5 + data[i + 3] + data[i + 4] * 256
        elif data[i:i + 3] == b"\x1dv0":
            x, y = data[i + 4] + data[i + 5] * 256, data[i + 6] + data[i + 7] * 256
            images += 1
            i += 8 + x * y
        elif two == b"\x10\x04":
            i += 3
        elif data[i] == 0x0A:
            if buf:
                rows.append((bytes(buf).decode("gb18030"), scale))
            buf = bytearray()
            i += 1
        else:
            buf.append(data[i])
            i += 1
    return rows, images


def gbk_columns(text: str) -> int:
    return len(text.encode("gbk"))  # what the printer's Chinese mode gives each character


def long_sample(**kw) -> Receipt:
    return sample(store=LONG_STORE, event="2026年12月冬季续保直销会暨老客户答谢会（第二场）",
                  items=[("抽奖第1次", LONG_PRIZE), ("续保礼", "汽车应急工具包 ×1")], **kw)


@pytest.mark.parametrize("paper,cols", [(58, 32), (80, 48)])
def test_text_mode_wraps_every_line_within_the_paper(paper, cols, printer):
    data = build_receipt(long_sample(copy=True), paper_mm=paper)
    send_bytes("127.0.0.1", printer.port, data, timeout=2)
    rows, images = printed_rows(printer.wait_for(1)[0])
    assert images == 0 and rows
    for text, scale in rows:
        assert gbk_columns(text) * scale <= cols, (text, scale)
    joined = "".join(text.strip() for text, _ in rows)
    assert LONG_STORE in joined and LONG_PRIZE in joined  # wrapped, nothing cut
    assert "【副本 COPY】" in joined


def test_image_mode_wraps_by_the_font_and_sends_the_paper_width():
    from core.printing import DOTS, _font, image_rows

    for paper in (58, 80):
        rows = image_rows(long_sample(), paper)
        size = 22 if paper == 58 else 26
        for style, text in rows:
            if style in ("qr", "rule"):
                continue
            f = _font(size * 2 - 8) if style == "big" else _font(size)
            assert f.getlength(text) <= DOTS[paper], (paper, text)
        joined = "".join(text.strip() for style, text in rows if style not in ("qr", "rule"))
        assert LONG_STORE in joined and LONG_PRIZE in joined
        data = build_receipt(long_sample(), render="image", paper_mm=paper)
        i = data.index(b"\x1dv0")
        assert (data[i + 4] + data[i + 5] * 256) * 8 == DOTS[paper]
        assert render_image(long_sample(), paper).height > render_image(sample(), paper).height  # more rows, not cut


def test_characters_outside_gbk_never_print_as_question_marks():
    # 한 (Hangul) is not GBK but the font draws it: that line goes as a raster; 𠮷 the font
    # cannot draw either: a visible box instead of '?'.
    data = build_receipt(sample(customer="한*수", items=[("续保礼", "𠮷祥礼盒 ×1")]), paper_mm=58)
    rows, images = printed_rows(data)
    text = "\n".join(t for t, _ in rows)
    assert images == 1  # the customer line, as an image
    assert "客户：" not in text  # it went as the image, not as '?' text
    assert "续保礼：□祥礼盒 ×1" in text and "?" not in text
    for t, scale in rows:
        assert gbk_columns(t) * scale <= 32


def test_wrap_keeps_words_and_never_drops_characters():
    from core.printing import text_columns, wrap

    rows = wrap("小票号：LP01-00001 客户：张*明 138****5678 " + "长" * 40, 32)
    assert all(text_columns(r) <= 32 for r in rows)
    assert any("LP01-00001" in r for r in rows) and any("138****5678" in r for r in rows)
    assert "".join(r.strip() for r in rows).count("长") == 40


def _receipt_for(url, event_id, invitation_id, gift_issue_id, barrier, out):
    from core.store import dispose_all, get_engine

    eng = get_engine(url)
    try:
        barrier.wait(10)
        out.put(receipts.issue_receipt(eng, event_id=event_id, invitation_id=invitation_id, desk="礼品9", staff_id=desk_staff(eng),
                                       gift_issue_ids=[gift_issue_id])["receipt_no"])
    finally:
        dispose_all()


def test_two_desks_never_share_a_receipt_number(seeded):
    from tests.conftest import race

    calls = []
    for i in range(3):
        g = checkin.check_in(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[i], desk="签到1", staff_id=desk_staff(seeded.engine))
        gi = gifts.hand_out_gift(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                                 kind="arrival", desk="礼品9", staff_id=desk_staff(seeded.engine))
        calls.append((seeded.engine.url.render_as_string(hide_password=False), seeded.event_id, g["invitation_id"],
                      gi["gift_issue_id"]))
    prefix = f"LP{seeded.event_id:02d}-"
    assert race(_receipt_for, calls) == [f"{prefix}00001", f"{prefix}00002", f"{prefix}00003"]
