"""cffi builder for the Tessera C core (API mode, out of line).

Every ``csrc/*.c`` file is compiled into one extension, ``fsw.gnc._core``.
The declarations cffi sees come from the public headers: the text between
``/* cffi:begin */`` and ``/* cffi:end */`` in each ``csrc/*.h`` (cffi cannot
read preprocessor guards, so the marked block holds only plain declarations
and integer ``#define`` constants). Adding a C module is therefore adding a
``.c`` file and a marked header; this file never needs editing.

Run directly (``python csrc/build_ffi.py``) to rebuild the extension in place
during development; ``pip install`` runs it through setup.py.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from cffi import FFI

CSRC = Path(__file__).resolve().parent
MODULE = "fsw.gnc._core"
# Warnings are errors here as in the sanitizer build, so the two never disagree.
# -O3 vectorises the filter's 6x6 products across columns; each sum keeps its
# order (ISO C: no reassociation, no contraction into FMA), so the results are
# the -O2 build's bit for bit, in 14 k fewer instructions per 10 Hz cycle.
CFLAGS = ["-std=c99", "-O3", "-Wall", "-Wextra", "-Werror", "-fno-strict-aliasing"]
_BLOCK = re.compile(r"/\* cffi:begin \*/(.*?)/\* cffi:end \*/", re.S)


_INCLUDE = re.compile(r'^#include "(tsr_\w+\.h)"', re.M)


def _headers() -> list[Path]:
    """Public headers, each after the headers it includes (cffi needs types first)."""
    by_name = {h.name: h for h in sorted(CSRC.glob("*.h"))}
    ordered: list[Path] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        header = by_name.get(name)
        if header is None or header in ordered or name in visiting:
            return
        visiting.add(name)
        for dependency in _INCLUDE.findall(header.read_text()):
            visit(dependency)
        ordered.append(header)

    for name in by_name:
        visit(name)
    return ordered


def _sources() -> list[Path]:
    return sorted(CSRC.glob("*.c"))


def _cdef_text() -> str:
    blocks = []
    for header in _headers():
        found = _BLOCK.findall(header.read_text())
        blocks.extend(found)
    return "\n".join(blocks)


def make_builder(absolute_paths: bool = False) -> FFI:
    """Return the FFI builder for the C core.

    setuptools wants sources relative to the project root; a direct build
    compiles from a scratch directory and so needs absolute paths.
    """
    ffibuilder = FFI()
    ffibuilder.cdef(_cdef_text())
    includes = "\n".join(f'#include "{h.name}"' for h in _headers())
    def name(path: Path) -> str:
        return str(path) if absolute_paths else os.path.relpath(path, CSRC.parent)

    ffibuilder.set_source(
        MODULE,
        includes,
        sources=[name(src) for src in _sources()],
        include_dirs=[name(CSRC)],
        extra_compile_args=CFLAGS,
        libraries=["m"],
    )
    return ffibuilder


ffibuilder = make_builder()


def build_in_place() -> Path:
    """Compile the extension next to fsw/gnc/ and swap it in atomically."""
    root = CSRC.parent
    with tempfile.TemporaryDirectory(prefix="tessera-ffi-") as tmp:
        built = Path(make_builder(absolute_paths=True).compile(tmpdir=tmp, verbose=False))
        target = root / "fsw" / "gnc" / built.name
        # Python prefers a version-tagged build over abi3; never leave a stale twin.
        for old in target.parent.glob("_core.*so"):
            if old.name != target.name:
                old.unlink()
        staging = target.with_suffix(f".{os.getpid()}.tmp")
        staging.write_bytes(built.read_bytes())
        os.replace(staging, target)
    return target


if __name__ == "__main__":
    print(build_in_place(), file=sys.stderr)
