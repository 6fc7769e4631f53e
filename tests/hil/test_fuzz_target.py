"""The bench link's coverage-guided fuzz target runs briefly and finds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

ROOT = Path(__file__).resolve().parents[2]


def test_fuzz_target_short_run(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "bench.fuzz_bench_link", "-runs=20000", "-seed=1",
         f"-artifact_prefix={tmp_path}/"],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Done 20000 runs" in run.stderr
    assert not list(tmp_path.glob("crash-*"))
