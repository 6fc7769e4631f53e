"""Which build of the compiled HAL modules runs: mypyc's or the Python source.

setup.py compiles the modules listed in `compiled_modules.txt` with mypyc
into one library, `hal._native__mypyc`, and one small extension per module
next to its source; Python's import system then prefers the extension. The
Python source stays the source of truth, and this module makes sure a stale
or partial build never runs: every listed module is loaded from its source
instead when

- the environment sets TESSERA_PURE_PYTHON=1 (mutation testing, debugging,
  and the test that holds both builds to the same results), or
- the library or any module's extension is missing, or
- any listed source is newer than the library (edited since the build).

All or none: compiled code reaches the classes of the other compiled
modules directly, so a mix of the two builds is never loaded.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr
else:
    def mypyc_attr(*_args: Any, **_kwargs: Any) -> Any:
        """mypyc's class options (`allow_interpreted_subclasses`...): read by
        the compiler, nothing to do when the source runs."""
        return lambda cls: cls

__all__ = ["LIBRARY", "compiled_modules", "mypyc_attr", "running_compiled", "use_source"]

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = "hal._native__mypyc"
PURE_ENV = "TESSERA_PURE_PYTHON"


def compiled_modules() -> list[str]:
    """Source paths (relative to the project root) of the compiled modules."""
    listing = Path(__file__).with_name("compiled_modules.txt").read_text()
    return [line.strip() for line in listing.splitlines()
            if line.strip() and not line.startswith("#")]


def _module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def _extension(source: Path) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = source.with_name(source.stem + suffix)
        if candidate.exists():
            return candidate
    return None


def _build_is_current(paths: Sequence[str]) -> bool:
    # The library holds all the compiled code and is rebuilt whenever any
    # source changes; the per-module extensions are shims that only import it.
    library = _extension(ROOT / "hal" / "_native__mypyc.py")
    if library is None:
        return False
    built_s = library.stat().st_mtime
    for path in paths:
        source = ROOT / path
        if _extension(source) is None or source.stat().st_mtime > built_s:
            return False
    return True


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the listed modules' Python source ahead of their extensions."""

    def __init__(self, names: dict[str, Path]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        source = self.names.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def use_source() -> bool:
    """Decide, once per process before any listed module is imported, whether
    the listed modules load from source; true when they do."""
    for finder in sys.meta_path:
        if isinstance(finder, _SourceFinder):
            return True
    paths = compiled_modules()
    if os.environ.get(PURE_ENV, "") not in ("", "0") or not _build_is_current(paths):
        sys.meta_path.insert(0, _SourceFinder({_module_name(p): ROOT / p for p in paths}))
        return True
    return False


def running_compiled() -> bool:
    """True when the listed modules run as mypyc's build in this process."""
    return not any(isinstance(f, _SourceFinder) for f in sys.meta_path)
