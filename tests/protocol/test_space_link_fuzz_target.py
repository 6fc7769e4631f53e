"""The coverage-guided fuzz target in bench/ runs briefly and finds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

ROOT = Path(__file__).resolve().parents[2]


def test_fuzz_target_short_run(tmp_path):
    corpus = tmp_path / "corpus"
    seed = subprocess.run(
        [sys.executable, "-c",
         f"from bench.fuzz_space_link import write_seeds; write_seeds({str(corpus)!r})"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert seed.returncode == 0, seed.stderr[-2000:]
    assert len(list(corpus.iterdir())) >= 8
    run = subprocess.run(
        [sys.executable, "-m", "bench.fuzz_space_link", "-runs=30000", "-seed=1",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Done 30000 runs" in run.stderr
    assert not list(tmp_path.glob("crash-*"))
