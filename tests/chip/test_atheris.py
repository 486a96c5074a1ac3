"""Runs the atheris (libFuzzer) harness for a bounded number of inputs when atheris is installed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed (optional)")
def test_coverage_guided_fuzzing_finds_no_crash(tmp_path: Path) -> None:
    harness = Path(__file__).with_name("fuzz_atheris.py")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH", "")]))}
    done = subprocess.run(
        [sys.executable, str(harness), "-runs=30000", "-max_total_time=8", "-seed=1", f"-artifact_prefix={tmp_path}/"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done" in done.stderr or "DONE" in done.stderr.upper()
