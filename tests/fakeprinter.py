"""A real TCP socket on loopback that plays an ESC/POS printer, and a decoder for what it got."""
from __future__ import annotations

import re
import socket
import threading
import time

DLE_EOT = re.compile(rb"\x10\x04([\x01-\x04])")


class FakePrinter:
    """mode: ok (reads, answers status), silent (accepts, never reads), close_mid (closes after
    `cut_after` bytes), paper_out (answers the paper sensor with 'paper end')."""

    def __init__(self, mode: str = "ok", cut_after: int = 64):
        self.mode, self.cut_after = mode, cut_after
        self.received: list[bytes] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket):
        if self.mode == "silent":
            self._held.append(conn)  # never read, never answer
            return
        buf = b""
        conn.settimeout(5)
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                buf += chunk
                if self.mode == "close_mid" and len(buf) >= self.cut_after:
                    buf = buf[: self.cut_after]
                    conn.close()
                    self.received.append(buf)
                    return
                queries = DLE_EOT.findall(buf)
                if len(queries) >= 2:
                    reply = bytes([0x12, 0x72 if self.mode == "paper_out" else 0x12])
                    conn.sendall(reply)
                    break
        except OSError:
            pass
        self.received.append(buf)
        try:
            conn.close()
        except OSError:
            pass

    def wait_for(self, n: int = 1, timeout: float = 5.0) -> list[bytes]:
        end = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < end:
            time.sleep(0.02)
        return self.received

    def close(self):
        self._stop.set()
        for c in self._held:
            c.close()
        self.sock.close()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def decode(data: bytes) -> dict:
    """Strip the command sequences the product emits; return the text lines (GB18030), the QR
    payloads, whether a raster image and a cut were present, and the status queries."""
    text = bytearray()
    qrs, image, cut, i = [], False, False, 0
    while i < len(data):
        b = data[i]
        two = data[i:i + 2]
        if two == b"\x1b@":
            i += 2
        elif two in (b"\x1ba", b"\x1bE", b"\x1d!", b"\x1bd"):
            i += 3
        elif two in (b"\x1c&", b"\x1c."):
            i += 2
        elif two == b"\x1dV":
            cut = True
            i += 4 if data[i + 2] in (0x41, 0x42) else 3
        elif data[i:i + 3] == b"\x1d(k":
            n = data[i + 3] + data[i + 4] * 256
            body = data[i + 5:i + 5 + n]
            if body[:3] == b"1P0":
                qrs.append(body[3:].decode())
            i += 5 + n
        elif data[i:i + 3] == b"\x1dv0":
            x = data[i + 4] + data[i + 5] * 256
            y = data[i + 6] + data[i + 7] * 256
            image = True
            i += 8 + x * y
        elif two == b"\x10\x04":
            i += 3
        else:
            text.append(b)
            i += 1
    lines = [ln.strip() for ln in text.decode("gb18030", errors="replace").splitlines()]
    return {"lines": [ln for ln in lines if ln], "qrs": qrs, "image": image, "cut": cut}
