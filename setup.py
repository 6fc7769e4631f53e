"""Build hook: compiles the C core in csrc/ into the cffi extension fsw.gnc._core.

All project metadata lives in pyproject.toml; cffi's setuptools integration
needs the ``cffi_modules`` keyword, which only setup() can take.
"""

from setuptools import setup

setup(cffi_modules=["csrc/build_ffi.py:ffibuilder"])
