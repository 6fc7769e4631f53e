"""The README's two-terminal session, run as written (two processes over TCP)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from sim_process import SimProcess

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def readme_commands() -> tuple[list[str], list[list[str]]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Talk to a spacecraft", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    lines = [[shlex.split(ln) for ln in b.splitlines() if ln.startswith("tessera ")]
             for b in blocks]
    [sim], ground = lines
    return sim, ground


def tessera(argv: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tessera", *argv[1:]], cwd=cwd, text=True,
                          capture_output=True, env=ENV, **kw)


def test_the_readme_session_runs(tmp_path):
    sim_cmd, ground_cmds = readme_commands()
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    # The time limit only ends a simulator left behind: the test stops it.
    sim = SimProcess([*sim_cmd[1:], "--duration-s", "1800"], cwd=tmp_path)
    try:
        sim.wait_running()
        run, plot, console = ground_cmds
        proc = tessera(run, tmp_path, timeout=240)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
        assert "procedure completed" in proc.stdout
        assert "time-tagged command executed; output now 1.0" in proc.stdout
        proc = tessera(plot, tmp_path, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "output.png").read_bytes()[:4] == b"\x89PNG"
        proc = tessera(console, tmp_path, timeout=120,
                       input="wait 90\nset uni_a_sample.gain 2.5\nadcs.set_mode 2\nquit\n")
        assert proc.returncode == 0, proc.stderr
        assert "sent set uni_a_sample.gain 2.5" in proc.stdout
        assert "refused: role uni-a may not command adcs" in proc.stdout
    finally:
        sim.stop()
