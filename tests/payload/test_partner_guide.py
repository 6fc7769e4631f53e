"""docs/partners.md runs as written: every console command, the manifest and the app."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from fsw.payload.manifest import parse_manifest

DOC = Path(__file__).resolve().parents[2] / "docs" / "partners.md"
BIN = Path(sys.executable).parent


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), re.S)


def expected(line: str) -> re.Pattern:
    """An output line of the guide, with its numbers free to differ."""
    return re.compile(re.sub(r"\d+(?:\\\.\d+)?", r"[\\d.]+", re.escape(line)))


def test_the_guides_manifest_is_the_one_tessera_app_new_writes(tmp_path):
    from ground.payload import create_project
    (manifest,) = blocks("toml")
    create_project(tmp_path / "hello", "hello")
    written = (tmp_path / "hello" / "manifest.toml").read_text()
    without_comments = "\n".join(x for x in written.splitlines() if not x.startswith("#"))
    assert manifest.strip() == without_comments.strip()
    parse_manifest(manifest)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux only")
def test_every_console_command_of_the_guide(tmp_path):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    cwd = tmp_path
    (app_code,) = blocks("python")
    for block in blocks("console"):
        lines = block.strip().splitlines()
        i = 0
        while i < len(lines):
            cmd = lines[i][2:]
            out_lines = []
            i += 1
            while i < len(lines) and not lines[i].startswith("$ "):
                out_lines.append(lines[i])
                i += 1
            argv = shlex.split(cmd)
            if argv[0] == "cd":
                cwd = (cwd / argv[1]).resolve()
                # section 4: the guide's app replaces the template's
                (cwd / "hello" / "app.py").write_text(app_code)
                continue
            if argv[0] == "python":
                argv[0] = sys.executable
            r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                               timeout=300, stdin=subprocess.DEVNULL)
            assert r.returncode == 0, f"{cmd}: {r.stdout}{r.stderr}"
            for want in out_lines:
                if want.startswith("<"):
                    continue
                want = want.replace("created hello:", f"created {cwd / 'hello'}:")
                assert expected(want).search(r.stdout), f"{cmd}: {want!r} not in\n{r.stdout}"
