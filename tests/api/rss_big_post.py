"""Peak RSS of `sscard serve` under a 500 MB unauthenticated POST /api/v1/persons (run by hand, once:
``python tests/api/rss_big_post.py``; not collected by pytest). Production mode with real secrets, a migrated
SQLite file; prints the server's RSS before and after and its peak (VmHWM), and what the client managed to send."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def rss(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) // 1024
    return fields


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="sscard-rss-"))
    env = {**os.environ, "SSCARD_MODE": "production", "SSCARD_DATABASE_URL": f"sqlite:///{root / 'rss.db'}",
           **{f"SSCARD_{n}": secrets.token_hex(32) for n in ("KMS_KEK_HEX", "PIN_PEPPER_HEX", "WEB_SECRET_HEX",
                                                             "AUDIT_KEY_HEX")}}
    sscard = str(Path(sys.executable).parent / "sscard")
    subprocess.run([sscard, "migrate"], env=env, check=True, capture_output=True)
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen([sscard, "serve", "--port", str(port)], env=env)
    try:
        for _ in range(900):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        before = rss(server.pid)
        total, sent, block = 500 << 20, 0, b" " * (1 << 20)
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(f"POST /api/v1/persons HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {total}\r\n\r\n".encode())
            try:
                while sent < total:
                    sock.sendall(block)
                    sent += len(block)
            except OSError:
                pass
            answer = sock.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
        time.sleep(1)
        after = rss(server.pid)
        print(f"status line: {answer!r}; client sent {sent >> 20} MB of 500 in {time.perf_counter() - started:.2f} s")
        print(f"server RSS before {before['VmRSS']} MB, after {after['VmRSS']} MB, peak (VmHWM) {after['VmHWM']} MB")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
