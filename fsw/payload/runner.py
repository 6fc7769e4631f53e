"""The process a partner app runs in: ``python -m fsw.payload.runner``.

Started by the payload host (fsw.payload.sandbox.launch) with the bridge
socket as an inherited descriptor. It imports the SDK and the standard
modules apps commonly use, confines itself (limits, user id, no_new_privs,
seccomp), reports what it applied as an event, then imports the partner's
code and serves the bridge. Nothing of the partner's runs before the
confinement is in place.
"""

from __future__ import annotations

import argparse

# Modules preloaded before the user id changes: on a flight computer whose
# Python lives in a directory other users cannot read, these stay usable.
import collections  # noqa: F401
import dataclasses  # noqa: F401
import hashlib  # noqa: F401
import importlib
import json  # noqa: F401
import math  # noqa: F401
import os
import random  # noqa: F401
import socket
import statistics  # noqa: F401
import sys
import traceback
import zlib  # noqa: F401
from pathlib import Path

from fsw.payload import sandbox
from fsw.payload.bridge import EVENT, Kind
from fsw.payload.manifest import load_manifest
from fsw.payload.sdk import EV_CRASHED, EV_SANDBOX, PayloadApp, _Link, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fsw.payload.runner")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--code", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--uid", type=int, required=True)
    parser.add_argument("--memory-mib", type=int, required=True)
    parser.add_argument("--storage-kib", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int, required=True)
    args = parser.parse_args(argv)
    isolated = sandbox.isolate()
    sock = socket.socket(fileno=args.fd)
    link = _Link(sock)
    code = Path(args.code)
    manifest = load_manifest(code / "manifest.toml")
    applied = [isolated, *sandbox.confine(args.uid, args.memory_mib, args.storage_kib,
                                          args.cpu_seconds, args.data)]
    link.send(Kind.EVENT, 0, EVENT.pack(EV_SANDBOX, 1) + ("sandbox: " + "; ".join(applied))
              .encode()[:120])
    sys.path.insert(0, str(code / "app"))
    try:
        module_name, _, class_name = manifest.entry.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        if not (isinstance(cls, type) and issubclass(cls, PayloadApp)):
            raise TypeError(f"{manifest.entry} is not a PayloadApp")
        app = cls(manifest, link, Path(args.data))
        serve(app, link)
    except BaseException as exc:  # report the crash on the bridge, then die with it
        if isinstance(exc, SystemExit):
            raise
        text = f"crashed: {type(exc).__name__}: {exc}"
        try:
            link.send(Kind.EVENT, 0, EVENT.pack(EV_CRASHED, 4) + text.encode()[:120])
            link.flush()
        except OSError:
            pass
        traceback.print_exc(limit=3)
        os._exit(70)
    link.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
