"""Argument types for the `tessera` command line.

Every option is checked when it is parsed, so bad input ends in one line on
stderr and exit status 2 (see `tessera.cli.Parser.error`), never a traceback
or a hang.

Each type carries `bad_examples`: inputs it must refuse. The CLI tests feed
them to every option of every subcommand, and fail on an option whose type
has none, so a new option is validated and tested by declaring its type.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def rejects(*examples: str) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """Declare inputs an argument type must refuse (see the module doc)."""

    def mark(parse: Callable[[str], T]) -> Callable[[str], T]:
        parse.bad_examples = examples  # type: ignore[attr-defined]
        return parse

    return mark


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

    bad = ["nan", "inf", "-inf", "ten", ""]
    if low is not None:
        bad.append(f"{low:g}" if low_open else f"{low - 1:g}")
    if high is not None:
        bad.append(f"{high + 1:g}")
    return rejects(*bad)(parse)


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

    bad = ["ten", "1.5", "nan", ""]
    if low is not None:
        bad.append(str(low - 1))
    if high is not None:
        bad.append(str(high + 1))
    return rejects(*bad)(parse)


@rejects("/nonexistent/tessera-missing.toml", "/", "")
def existing_file(text: str) -> Path:
    """A path to a readable regular file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text}: not readable")
    return path


@rejects("/proc/tessera-out", "/dev/null/out", "")
def writable_dir(text: str) -> Path:
    """An output folder: created if missing, and proven writable by writing to it.

    Permission bits are not enough (root passes every access check, and
    /proc or a read-only mount still refuse), so the folder is tried for real.
    """
    if not text:
        raise argparse.ArgumentTypeError("an empty path is not a folder")
    path = Path(text)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text}: cannot write there ({exc.strerror})") from None
    _try_writing(path, text)
    return path


def _try_writing(folder: Path, text: str) -> None:
    """Make and remove a file in `folder`, or refuse `text` saying why."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text}: cannot write there ({exc.strerror})") from None


@rejects("/nonexistent/project", "/", "")
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


@rejects("/proc/tessera.db", "/nonexistent/tessera.db", "/", "")
def writable_file(text: str) -> Path:
    """A file to create or update: not a folder, in a folder that exists and
    takes a new file (tried for real, as for `writable_dir`)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path is not a file")
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    parent = path.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{parent}: no such folder")
    _try_writing(parent, text)
    return path


@rejects("nosuch", "", "SIM")
def backend_name(text: str) -> str:
    """The name of a registered HAL bus backend (sim, linux, ...)."""
    import hal.config

    known = hal.config.backend_names()
    try:
        import hal.tunnel  # registers the bench's tunnel backend on import
    except ImportError:  # its extra is missing: let the run say which package to install
        known.append("tunnel")
    known = sorted(set(hal.config.backend_names()) | set(known))
    if text not in known:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a bus backend (one of: {', '.join(known)})")
    return text


@rejects("nosuch://host:1", "/nonexistent/tty", "", "socket://")
def serial_url(text: str) -> str:
    """A serial port as pyserial opens it: a device path that exists (a tty, a
    pty) or a URL of a scheme pyserial knows (socket://host:port, rfc2217://,
    loop://...). Checked without opening it."""
    import serial

    if not text:
        raise argparse.ArgumentTypeError("an empty port name")
    if "://" not in text:
        if not Path(text).exists():
            raise argparse.ArgumentTypeError(f"{text}: no such device")
        return text
    scheme, _, rest = text.partition("://")
    if scheme in ("socket", "rfc2217"):  # pyserial reads host and port only when opening
        host, _, port = rest.partition(":")
        port = port.split("?")[0].rstrip("/")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise argparse.ArgumentTypeError(f"{text}: expected {scheme}://host:port")
    try:
        serial.serial_for_url(text, do_not_open=True)
    except (ValueError, serial.SerialException) as exc:
        raise argparse.ArgumentTypeError(f"{text}: {exc}") from None
    return text
