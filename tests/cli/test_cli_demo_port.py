"""`sscard demo --serve` on a busy port fails at once with PORT_IN_USE and exit status 2, before it prints any
URL or touches the database (issue 14: it used to print every URL, then die)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

SSCARD = str(Path(sys.executable).with_name("sscard"))


def test_the_demo_on_a_busy_port_fails_cleanly_before_printing_urls(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "SSCARD_MODE": "demo", "SSCARD_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
        done = subprocess.run([SSCARD, "demo", "--serve", "--port", str(port)], env=env, capture_output=True,
                              text=True, timeout=120, check=False, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "PORT_IN_USE" in done.stderr and "PORT=" in done.stderr
    assert "http://" not in done.stdout
    assert not (tmp_path / "demo.db").exists()  # nothing was created
