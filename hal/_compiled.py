"""Which build of the compiled modules runs: mypyc's or the Python source.

setup.py compiles the modules listed in each layer's `compiled_modules.txt`
(hal/, fsw/, ground/) with mypyc, one library per layer
(`hal._native__mypyc`, `fsw._native__mypyc`, `ground._native__mypyc`) and
one small extension per module next to its source; Python's import system
then prefers the extension. The Python source stays the source of truth,
and this module makes sure a stale or partial build never runs: every
listed module of every layer is loaded from its source instead when

- the environment sets TESSERA_PURE_PYTHON=1 (mutation testing, debugging,
  and the test that holds both builds to the same results), or
- a library or any module's extension is missing, or
- any listed source is newer than its layer's library (edited since the
  build).

All or none: compiled code reaches the classes and functions of the other
compiled modules directly, across layers too, so a mix of the two builds is
never loaded. The decision is taken once, when `hal` is first imported;
`fsw` and `ground` import `hal` before anything else so that it always
comes first.
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

__all__ = ["LAYERS", "compiled_modules", "layer_modules", "mypyc_attr",
           "running_compiled", "use_source"]

ROOT = Path(__file__).resolve().parent.parent
PURE_ENV = "TESSERA_PURE_PYTHON"
# Each layer's compiled modules form one mypyc group: `<layer>._native`.
LAYERS = ("hal", "fsw", "ground")


def layer_modules(layer: str) -> list[str]:
    """Source paths (relative to the project root) of one layer's compiled
    modules, from `<layer>/compiled_modules.txt` (none when it has no list)."""
    listing = ROOT / layer / "compiled_modules.txt"
    if not listing.exists():
        return []
    return [line.strip() for line in listing.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def compiled_modules() -> list[str]:
    """Source paths (relative to the project root) of every compiled module."""
    return [path for layer in LAYERS for path in layer_modules(layer)]


def _module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def _extension(source: Path) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = source.with_name(source.stem + suffix)
        if candidate.exists():
            return candidate
    return None


def _build_is_current(by_layer: dict[str, list[str]]) -> bool:
    # A layer's library holds all its compiled code and is rebuilt whenever
    # any source changes; the per-module extensions are shims that import it.
    for layer, paths in by_layer.items():
        if not paths:
            continue
        library = _extension(ROOT / layer / "_native__mypyc.py")
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
    by_layer = {layer: layer_modules(layer) for layer in LAYERS}
    if os.environ.get(PURE_ENV, "") not in ("", "0") or not _build_is_current(by_layer):
        sys.meta_path.insert(0, _SourceFinder({_module_name(p): ROOT / p
                                               for paths in by_layer.values() for p in paths}))
        return True
    return False


def running_compiled() -> bool:
    """True when the listed modules run as mypyc's build in this process."""
    return not any(isinstance(f, _SourceFinder) for f in sys.meta_path)
