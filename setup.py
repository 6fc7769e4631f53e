"""Build hook: the C core and the compiled HAL modules.

All project metadata lives in pyproject.toml. setup() takes what it cannot:
cffi's ``cffi_modules`` (csrc/ into the extension fsw.gnc._core) and the
mypyc build of the modules in hal/compiled_modules.txt (the emulators, sim
buses and drivers of the register path; hal/_compiled.py decides at import
whether that build or the Python source runs). The mypyc build is optional:
when mypyc is missing, TESSERA_PURE_PYTHON=1 is set, or it fails, the
package installs with the Python source alone.
"""

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext


def compiled_modules() -> list[str]:
    listing = Path(__file__).with_name("hal").joinpath("compiled_modules.txt").read_text()
    return [line.strip() for line in listing.splitlines()
            if line.strip() and not line.startswith("#")]


def native_extensions() -> list:
    if os.environ.get("TESSERA_PURE_PYTHON", "") not in ("", "0"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("mypyc not found: the HAL modules stay Python source", file=sys.stderr)
        return []
    try:
        # The build environment holds only the build requirements: crcmod and
        # the like are not there to type-check against (numpy is, so the
        # types are those a developer's tree sees).
        extensions = mypycify(["--ignore-missing-imports", *compiled_modules()],
                              group_name="hal._native", opt_level="3")
    except (Exception, SystemExit) as exc:  # a failed type check exits
        print(f"mypyc could not compile the HAL modules ({exc}): they stay Python source",
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
