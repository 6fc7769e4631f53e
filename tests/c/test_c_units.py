"""Build and run every C unit test in csrc/tests under AddressSanitizer and UBSan.

Each csrc/tests/test_*.c is one program linked with the whole C core, built
with the same warnings-as-errors flags as the extension plus the sanitizers,
and must exit 0 with its "N passed, 0 failed" line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"
TESTS = sorted((CSRC / "tests").glob("test_*.c"))
CFLAGS = [
    "-std=c99", "-g", "-O1", "-Wall", "-Wextra", "-Werror",
    "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer",
]


@pytest.fixture(scope="module")
def compiler() -> str:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("no C compiler on PATH: the C core cannot be tested")
    return cc


@pytest.fixture(scope="module")
def core_objects(compiler: str, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The C core compiled once with the sanitizers, one object per csrc/*.c.

    Every test program links the same objects, so the core is compiled once per
    run rather than once per program.
    """
    out = tmp_path_factory.mktemp("csrc-asan")
    objects = []
    for source in sorted(CSRC.glob("*.c")):
        obj = out / f"{source.stem}.o"
        build = subprocess.run([compiler, *CFLAGS, f"-I{CSRC}", "-c", str(source), "-o", str(obj)],
                               capture_output=True, text=True)
        assert build.returncode == 0, f"{source.name} does not build:\n{build.stderr}"
        objects.append(str(obj))
    return objects


@pytest.mark.parametrize("source", TESTS, ids=[t.stem for t in TESTS])
def test_c_unit_program(source: Path, compiler: str, core_objects: list[str],
                        tmp_path: Path) -> None:
    exe = tmp_path / source.stem
    build = subprocess.run(
        [compiler, *CFLAGS, f"-I{CSRC}", f"-I{CSRC / 'tests'}", str(source), *core_objects,
         "-lm", "-o", str(exe)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, f"build failed:\n{build.stderr}"
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    run = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=240, cwd=ROOT)
    summary = re.search(r"^(\d+) passed, (\d+) failed$", run.stdout, re.M)
    assert run.returncode == 0 and summary and summary.group(2) == "0", (
        f"{source.name} failed:\n{run.stdout}\n{run.stderr}"
    )
    assert int(summary.group(1)) > 0, f"{source.name} ran no test"
