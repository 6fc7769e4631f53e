"""Build hook: the C core and the modules compiled with mypyc.

All project metadata lives in pyproject.toml. setup() takes what it cannot:
cffi's ``cffi_modules`` (csrc/ into the extension fsw.gnc._core) and the
mypyc build of the modules each layer lists in its compiled_modules.txt
(hal/: the emulators, buses and drivers of the register path; fsw/ and
ground/: the flight and simulator code every 10 Hz cycle runs), one library
per layer; hal/_compiled.py decides at import whether that build or the
Python source runs. The mypyc build is optional: when mypyc is missing,
TESSERA_PURE_PYTHON=1 is set, or it fails, the package installs with the
Python source alone.
"""

import importlib.util
import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext


def _load_compiled_rules():
    """hal/_compiled.py, loaded by its path: the layers, their lists and the
    environment switch, as the import-time decision reads them (importing
    `hal` itself would take that decision here, in the build)."""
    spec = importlib.util.spec_from_file_location(
        "_tessera_compiled_rules", Path(__file__).with_name("hal") / "_compiled.py")
    rules = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rules)
    return rules


RULES = _load_compiled_rules()


def remove_stale_extensions(listed: set[str]) -> None:
    """Delete the extension of any module no longer listed: left beside its
    source by an earlier build, it would be imported instead of the source."""
    root = Path(__file__).parent
    for layer in RULES.LAYERS:
        for suffix in EXTENSION_SUFFIXES:
            for extension in (root / layer).rglob("*" + suffix):
                source = extension.with_name(extension.name.removesuffix(suffix) + ".py")
                relative = source.relative_to(root).as_posix()
                if source.exists() and relative not in listed:
                    extension.unlink()


def native_extensions() -> list:
    remove_stale_extensions(set(RULES.compiled_modules()))
    if os.environ.get(RULES.PURE_ENV, "") not in ("", "0"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("mypyc not found: the listed modules stay Python source", file=sys.stderr)
        return []
    try:
        # The build environment holds only the build requirements: crcmod and
        # the like are not there to type-check against (numpy is, so the
        # types are those a developer's tree sees).
        listed = [(RULES.layer_modules(layer), f"{layer}._native") for layer in RULES.LAYERS]
        groups = [(paths, group) for paths, group in listed if paths]
        extensions = mypycify(["--ignore-missing-imports", "--follow-imports=silent",
                               *[path for paths, _ in groups for path in paths]],
                              separate=groups, opt_level="3")
    except (Exception, SystemExit) as exc:  # a failed type check exits
        print(f"mypyc could not compile the listed modules ({exc}): they stay Python source",
              file=sys.stderr)
        return []
    for extension in extensions:
        extension.optional = True  # a compiler failure leaves the source build
    return extensions


class BuildExt(build_ext):
    """Builds the optional extensions after the required C core, so a failed
    optional one cannot stop the core."""

    def build_extensions(self) -> None:
        self.extensions.sort(key=lambda ext: getattr(ext, "optional", False))
        super().build_extensions()


setup(cffi_modules=["csrc/build_ffi.py:ffibuilder"], ext_modules=native_extensions(),
      cmdclass={"build_ext": BuildExt})
