"""Argument types for the `tessera` command line.

Every option is checked when it is parsed, so bad input ends in one line on
stderr and exit status 2 (see `tessera.cli.Parser.error`), never a traceback
or a hang.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def bounded_float(low: float | None = None, high: float | None = None, *,
                  low_open: bool = False) -> Callable[[str], float]:
    """A finite float in [low, high] (or (low, high] with `low_open`)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(
                f"{text} is out of range (must be {'>' if low_open else '>='} {low:g})")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text} is out of range (must be <= {high:g})")
        return value

    return parse


def bounded_int(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if low is not None and value < low:
            raise argparse.ArgumentTypeError(f"{text} is out of range (must be >= {low})")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text} is out of range (must be <= {high})")
        return value

    return parse


def existing_file(text: str) -> Path:
    """A path to a readable regular file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text}: not readable")
    return path


def writable_dir(text: str) -> Path:
    """An output folder: created if missing, and proven writable by writing to it.

    Permission bits are not enough (root passes every access check, and
    /proc or a read-only mount still refuse), so the folder is tried for real.
    """
    path = Path(text)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text}: cannot write there ({exc.strerror})") from None
    return path


def partner_project(text: str) -> Path:
    """A partner app project: a directory with a manifest.toml that parses."""
    from fsw.payload.manifest import ManifestError, load_manifest
    path = Path(text)
    if not (path / "manifest.toml").is_file():
        raise argparse.ArgumentTypeError(f"{text}: no manifest.toml there")
    try:
        load_manifest(path / "manifest.toml")
    except ManifestError as exc:
        raise argparse.ArgumentTypeError(f"{text}/manifest.toml: {exc}") from None
    return path
