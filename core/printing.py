"""ESC/POS receipts for 58 and 80 mm thermal printers, and sending them with a hard timeout.

Two renderings, a per-desk setting:
- text: the printer's Chinese mode (FS & … FS .) with GBK bytes that we encode ourselves:
  python-escpos 3.1 sends a line of only Chinese punctuation as '?????' and '¥' as a 4-byte
  GB18030 sequence that GBK printers garble, so '¥' becomes '￥' and every line goes out as
  GBK (characters outside GBK become '?').
- image: the receipt drawn with a CJK font from a Debian package and sent as a raster image;
  it prints the same on any printer, whatever its code pages.
Sending never waits longer than the printer's timeout (python-escpos's Network default is
60 s); a printer that does not answer the status query after the receipt counts as failed.
"""
from __future__ import annotations

import socket
import time
from dataclasses import asdict, dataclass, field

ESC, GS, FS, DLE = b"\x1b", b"\x1d", b"\x1c", b"\x10"
INIT = ESC + b"@"
CHINESE_ON, CHINESE_OFF = FS + b"&", FS + b"."
STATUS_QUERY = DLE + b"\x04\x01" + DLE + b"\x04\x04"  # printer status, roll paper sensor
COLUMNS = {58: 32, 80: 48}
DOTS = {58: 384, 80: 576}


@dataclass
class Receipt:
    store: str
    event: str
    title: str
    receipt_no: str
    time: str
    desk: str
    staff: str
    customer: str  # masked
    phone: str  # masked
    plates: str  # masked
    items: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    footer: str = "感谢您的光临，祝您行车平安！"
    copy: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Receipt":
        d = dict(d)
        d["items"] = [tuple(x) for x in d.get("items", [])]
        return cls(**d)


def lines(receipt: Receipt, paper_mm: int = 80) -> list[tuple[str, str]]:
    """The receipt as (style, text) lines; style is one of center, big, left, rule, sign."""
    cols = COLUMNS[paper_mm]
    out = [("center", receipt.store), ("center", receipt.event), ("big", receipt.title)]
    if receipt.copy:
        out.append(("big", "【副本 COPY】"))
    out += [("rule", "-" * cols), ("left", f"小票号：{receipt.receipt_no}"), ("left", f"时间：{receipt.time}"),
            ("left", f"工作台：{receipt.desk}  经办：{receipt.staff}"), ("left", f"客户：{receipt.customer}  {receipt.phone}")]
    if receipt.plates:
        out.append(("left", f"车牌：{receipt.plates}"))
    out.append(("rule", "-" * cols))
    for label, value in receipt.items:
        out.append(("left", f"{label}：{value}"))
    out += [("rule", "-" * cols), ("qr", receipt.receipt_no), ("left", ""), ("sign", "客户签名：" + "_" * (cols - 12)),
            ("left", ""), ("center", receipt.footer)]
    return out


def _gbk(text: str) -> bytes:
    return text.replace("¥", "￥").encode("gbk", errors="replace")


def _qr(data: str) -> bytes:
    from escpos.printer import Dummy

    p = Dummy()
    p.qr(data, native=True, size=6, center=False)
    return p.output


def build_text(receipt: Receipt, paper_mm: int = 80) -> bytes:
    out = bytearray(INIT)
    for style, text in lines(receipt, paper_mm):
        if style == "qr":
            out += ESC + b"a\x01" + _qr(text) + b"\n" + ESC + b"a\x00"
            continue
        align = b"\x01" if style in ("center", "big") else b"\x00"
        out += ESC + b"a" + align
        if style == "big":
            out += GS + b"!\x11" + ESC + b"E\x01"
        out += CHINESE_ON + _gbk(text) + CHINESE_OFF + b"\n"
        if style == "big":
            out += GS + b"!\x00" + ESC + b"E\x00"
    out += b"\n\n\n" + GS + b"V\x42\x00"  # feed and partial cut
    return bytes(out)


def render_image(receipt: Receipt, paper_mm: int = 80):
    """The receipt as a 1-bit image, DOTS[paper_mm] wide, drawn with a CJK font."""
    from PIL import Image, ImageDraw

    from core import fonts
    from core.invitations import qr_image

    width = DOTS[paper_mm]
    size = 22 if paper_mm == 58 else 26
    regular, big = fonts.font(size), fonts.font(size * 2 - 8)
    rows = lines(receipt, paper_mm)
    canvas = Image.new("L", (width, 60 + len(rows) * (size + 14) + 300), 255)
    draw = ImageDraw.Draw(canvas)
    y = 10
    for style, text in rows:
        if style == "qr":
            qr = qr_image(text, box_size=5).convert("L")
            canvas.paste(qr, ((width - qr.width) // 2, y))
            y += qr.height + 6
            continue
        if style == "rule":
            draw.line((0, y + size // 2, width, y + size // 2), fill=0, width=2)
            y += size
            continue
        f = big if style == "big" else regular
        w = draw.textlength(text, font=f)
        x = (width - w) / 2 if style in ("center", "big") else 0
        draw.text((x, y), text, font=f, fill=0)
        y += (size * 2 if style == "big" else size) + 8
    return canvas.crop((0, 0, width, y + 20)).point(lambda v: 0 if v < 160 else 255, mode="1")


def build_image(receipt: Receipt, paper_mm: int = 80) -> bytes:
    from escpos.printer import Dummy

    p = Dummy()
    p.profile.profile_data["media"]["width"]["pixels"] = DOTS[paper_mm]  # else it prints a warning per receipt
    p._raw(INIT)
    p.image(render_image(receipt, paper_mm), impl="bitImageRaster", center=False)
    p._raw(b"\n\n\n" + GS + b"V\x42\x00")
    return p.output


def build_receipt(receipt: Receipt, *, render: str = "text", paper_mm: int = 80) -> bytes:
    """A receipt's exact bytes, without any printer."""
    if paper_mm not in COLUMNS:
        paper_mm = 80
    return build_image(receipt, paper_mm) if render == "image" else build_text(receipt, paper_mm)


@dataclass
class SendResult:
    ok: bool
    status: str  # online, paper_out, offline, unknown
    error: str = ""
    seconds: float = 0.0


def _status(reply: bytes) -> str:
    if len(reply) < 2:
        return "unknown"
    if reply[0] & 0x08:
        return "offline"
    if reply[1] & 0x60:
        return "paper_out"
    return "online"


def send_bytes(host: str, port: int, data: bytes, *, timeout: float = 2.5, confirm: bool = True) -> SendResult:
    """Send the bytes, then ask for the status; never longer than `timeout` seconds in all."""
    start = time.monotonic()
    deadline = start + timeout

    def left() -> float:
        return max(0.05, deadline - time.monotonic())

    try:
        sock = socket.create_connection((host, int(port)), timeout=min(left(), 1.5))
    except ConnectionRefusedError:
        return SendResult(False, "offline", "打印机拒绝连接（未开机或地址错误）", time.monotonic() - start)
    except (TimeoutError, socket.timeout):
        return SendResult(False, "unknown", "连接打印机超时", time.monotonic() - start)
    except OSError as e:
        return SendResult(False, "unknown", f"无法连接打印机（{e.strerror or e}）", time.monotonic() - start)
    with sock:
        try:
            sock.settimeout(left())
            sock.sendall(data + (STATUS_QUERY if confirm else b""))
            if not confirm:
                return SendResult(True, "unknown", "", time.monotonic() - start)
            reply = b""
            while len(reply) < 2:
                sock.settimeout(left())
                if time.monotonic() >= deadline:
                    raise TimeoutError
                chunk = sock.recv(2 - len(reply))
                if not chunk:
                    return SendResult(False, "unknown", "打印机中途断开，小票可能不完整", time.monotonic() - start)
                reply += chunk
        except (TimeoutError, socket.timeout):
            return SendResult(False, "unknown", "打印机无应答", time.monotonic() - start)
        except OSError as e:
            return SendResult(False, "unknown", f"打印机中途断开，小票可能不完整（{e.strerror or e}）",
                              time.monotonic() - start)
    status = _status(reply)
    if status == "paper_out":
        return SendResult(False, status, "打印机缺纸", time.monotonic() - start)
    if status == "offline":
        return SendResult(False, status, "打印机离线（盖子打开或出错）", time.monotonic() - start)
    return SendResult(True, status, "", time.monotonic() - start)


def printer_status(host: str, port: int, *, timeout: float = 1.5) -> str:
    """online / paper_out / offline / unknown (a printer that does not answer)."""
    start = time.monotonic()
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(STATUS_QUERY)
            reply = b""
            while len(reply) < 2 and time.monotonic() - start < timeout:
                chunk = sock.recv(2 - len(reply))
                if not chunk:
                    break
                reply += chunk
            return _status(reply)
    except OSError:
        return "unknown"


def send_local(connection: str, data: bytes, *, usb_vendor: str = "", usb_product: str = "",
               serial_device: str = "") -> SendResult:
    """USB or serial printers through python-escpos. Status is not read back on these."""
    start = time.monotonic()
    try:
        if connection == "usb":
            from escpos.printer import Usb

            printer = Usb(int(usb_vendor, 16), int(usb_product, 16))
        else:
            from escpos.printer import Serial

            printer = Serial(devfile=serial_device, timeout=2)
        printer._raw(data)
        printer.close()
        return SendResult(True, "unknown", "", time.monotonic() - start)
    except Exception as e:  # noqa: BLE001 - any driver error is a failed job, never a crash at the desk
        return SendResult(False, "unknown", f"{connection.upper()} 打印机不可用（{e.__class__.__name__}）",
                          time.monotonic() - start)
