"""ESC/POS receipts for 58 and 80 mm thermal printers, and sending them with a hard timeout.

Two renderings, a per-desk setting:
- text: the printer's Chinese mode (FS & … FS .) with GBK bytes that we encode ourselves:
  python-escpos 3.1 sends a line of only Chinese punctuation as '?????' and '¥' as a 4-byte
  GB18030 sequence that GBK printers garble, so '¥' becomes '￥' and every line goes out as
  GBK. A line holding a character outside GBK (a rare name character, Hangul) is sent as a
  small raster image of that line instead; a character the font cannot draw either becomes '□'
  (never a silent '?').
- image: the receipt drawn with a CJK font from a Debian package and sent as a raster image;
  it prints the same on any printer, whatever its code pages.
Both renderings wrap (never cut) at the paper's width: text mode counts columns the way the
printer does (a GBK double-byte character is two columns: 58 mm = 32, 80 mm = 48; double-size
lines have half as many), image mode measures each line with the font.
Sending never waits longer than the printer's timeout (python-escpos's Network default is
60 s); a printer that does not answer the status query after the receipt counts as failed.
"""
from __future__ import annotations

import socket
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache

ESC, GS, FS, DLE = b"\x1b", b"\x1d", b"\x1c", b"\x10"
INIT = ESC + b"@"
CHINESE_ON, CHINESE_OFF = FS + b"&", FS + b"."
STATUS_QUERY = DLE + b"\x04\x01" + DLE + b"\x04\x04"  # printer status, roll paper sensor
COLUMNS = {58: 32, 80: 48}
DOTS = {58: 384, 80: 576}
MISSING = "□"  # what a character neither GBK nor the font can show becomes
CONTINUATION = "  "  # a wrapped line's continuation is indented


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
    """The receipt as logical (style, text) lines, before wrapping; style is one of center,
    big, left, rule, sign, qr."""
    cols = COLUMNS.get(paper_mm, 48)
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
    return [(style, text) for style, text in out if style in ("qr", "rule") or text is not None]


# --- measuring and wrapping ---------------------------------------------------------------
def in_gbk(ch: str) -> bool:
    try:
        ch.encode("gbk")
        return True
    except UnicodeEncodeError:
        return False


def char_columns(ch: str) -> int:
    """Columns the printer gives a character in Chinese mode: a GBK double-byte character
    (hanzi, full-width punctuation, ·, “”) is two, ASCII one."""
    if ch == "¥":
        ch = "￥"
    try:
        return len(ch.encode("gbk"))
    except UnicodeEncodeError:
        return 2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 1


def text_columns(text: str) -> int:
    return sum(char_columns(ch) for ch in text)


def _tokens(text: str) -> list[str]:
    """Words of ASCII letters/digits stay whole (a receipt number, a masked phone); every
    other character is its own token."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
            word += ch
            continue
        if word:
            out.append(word)
            word = ""
        out.append(ch)
    if word:
        out.append(word)
    return out


def wrap(text: str, limit: float, measure=text_columns, indent: str = CONTINUATION) -> list[str]:
    """Greedy wrap of `text` so that measure(line) <= limit for every line; never drops a
    character. Continuation lines start with `indent`."""
    if measure(text) <= limit:
        return [text]
    rows: list[str] = []
    line = ""
    for tok in _tokens(text):
        if measure(line + tok) <= limit:
            line += tok
            continue
        if line.strip():
            rows.append(line.rstrip())
            line = indent
        if tok.isspace():
            continue
        if measure(line + tok) <= limit:
            line += tok
            continue
        for ch in tok:  # a token longer than a line: split it by characters
            if measure(line + ch) > limit and line.strip():
                rows.append(line)
                line = indent
            line += ch
    if line.strip():
        rows.append(line.rstrip())
    return rows or [""]


def wrapped_lines(receipt: Receipt, paper_mm: int = 80) -> list[tuple[str, str]]:
    """The text-mode lines after wrapping at the paper's width (what the screen preview shows)."""
    cols = COLUMNS.get(paper_mm, 48)
    out = []
    for style, text in lines(receipt, paper_mm):
        if style in ("qr", "rule"):
            out.append((style, text))
            continue
        limit = cols // 2 if style == "big" else cols
        out += [(style, row) for row in wrap(text, limit, indent="" if style in ("center", "big") else CONTINUATION)]
    return out


# --- characters: GBK, the font, and what neither can show ---------------------------------
@lru_cache(maxsize=8)
def _font(size: int):
    from core import fonts

    return fonts.font(size)


@lru_cache(maxsize=4096)
def font_has(ch: str) -> bool:
    """Whether the CJK font draws `ch` (its mask differs from the font's 'missing' glyph)."""
    if ch.isspace() or ch.isascii():
        return True
    f = _font(24)

    def mask(c: str) -> tuple:
        m = f.getmask(c)
        return m.size, bytes(list(m))

    return mask(ch) != mask(chr(0x10FFFD))


def printable(text: str) -> str:
    """Characters neither GBK nor the font can show become MISSING (a visible box, not '?')."""
    return "".join(ch if in_gbk(ch) or font_has(ch) else MISSING for ch in text.replace("¥", "￥"))


def _gbk(text: str) -> bytes:
    return printable(text).encode("gbk", errors="replace")


def _qr(data: str) -> bytes:
    from escpos.printer import Dummy

    p = Dummy()
    p.qr(data, native=True, size=6, center=False)
    return p.output


def _raster(img) -> bytes:
    from escpos.printer import Dummy

    p = Dummy()
    p.profile.profile_data["media"]["width"]["pixels"] = img.width  # else it prints a warning per receipt
    p.image(img, impl="bitImageRaster", center=False)
    return p.output


def _line_image(text: str, style: str, paper_mm: int):
    """One text-mode line drawn with the font at the printer's own cell size (12 dots a column)."""
    from PIL import Image, ImageDraw

    width = DOTS[paper_mm]
    size = 48 if style == "big" else 24
    f = _font(size)
    canvas = Image.new("L", (width, size + 6), 255)
    draw = ImageDraw.Draw(canvas)
    w = draw.textlength(text, font=f)
    x = (width - w) / 2 if style in ("center", "big") else 0
    draw.text((max(0, x), 2), text, font=f, fill=0)
    return canvas.point(lambda v: 0 if v < 160 else 255, mode="1")


def build_text(receipt: Receipt, paper_mm: int = 80) -> bytes:
    out = bytearray(INIT)
    for style, text in wrapped_lines(receipt, paper_mm):
        if style == "qr":
            out += ESC + b"a\x01" + _qr(text) + b"\n" + ESC + b"a\x00"
            continue
        text = printable(text)
        if not all(in_gbk(ch) for ch in text):  # e.g. Hangul: this one line goes as an image
            out += ESC + b"a\x00" + _raster(_line_image(text, style, paper_mm))
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


def image_rows(receipt: Receipt, paper_mm: int = 80) -> list[tuple[str, str]]:
    """The image-mode lines, each wrapped so that it measures within the paper's dots."""
    width = DOTS.get(paper_mm, 576)
    size = 22 if paper_mm == 58 else 26
    regular, big = _font(size), _font(size * 2 - 8)
    out = []
    for style, text in lines(receipt, paper_mm):
        if style in ("qr", "rule"):
            out.append((style, text))
            continue
        f = big if style == "big" else regular
        limit = width - 8  # a few dots of margin: thermal heads lose the outermost dots
        out += [(style, row) for row in wrap(printable(text), limit, measure=lambda t, f=f: f.getlength(t),
                                             indent="" if style in ("center", "big") else CONTINUATION)]
    return out


def render_image(receipt: Receipt, paper_mm: int = 80):
    """The receipt as a 1-bit image, DOTS[paper_mm] wide, drawn with a CJK font; long lines wrap."""
    from PIL import Image, ImageDraw

    from core.invitations import qr_image

    width = DOTS[paper_mm]
    size = 22 if paper_mm == 58 else 26
    regular, big = _font(size), _font(size * 2 - 8)
    rows = image_rows(receipt, paper_mm)
    canvas = Image.new("L", (width, 60 + sum((size * 2 + 8) if s == "big" else (size + 8) for s, _ in rows) + 400), 255)
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
        draw.text((max(0, x), y), text, font=f, fill=0)
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
