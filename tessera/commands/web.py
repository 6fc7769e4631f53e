"""`tessera ground web` and `tessera ground user`: the web operator console.

    tessera ground user alice --role operator --users users.json   (password on stdin)
    tessera ground web --fleet sim/fleet.json --users users.json --port 8080

The console serves every role that has a user in the users file, each as
its own ground session (its key, its rights, its archive in ``--archive-dir``)
over one link per spacecraft.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from tessera.options import (
    bounded_float,
    bounded_int,
    existing_file,
    rejects,
    writable_dir,
    writable_file,
)


@rejects("", "two words", "host/path", "-x")
def host_name(text: str) -> str:
    """An address or host name to listen on."""
    ok = text and not text.startswith("-") and all(c.isalnum() or c in ".-:" for c in text)
    if not ok:
        raise argparse.ArgumentTypeError(f"{text!r} is not a host name or address")
    return text


@rejects("", "two words", "a/b", "-x", "x" * 65)
def account_name(text: str) -> str:
    """A user or role name: letters, digits, - and _, at most 64."""
    ok = (0 < len(text) <= 64 and not text.startswith("-")
          and text.replace("-", "").replace("_", "").isalnum())
    if not ok:
        raise argparse.ArgumentTypeError(f"{text!r}: letters, digits, - and _ only (at most 64)")
    return text


def _fail(text: str) -> int:
    print(f"tessera ground: {text}", file=sys.stderr)
    return 2


def build_hub(fleet_path: str | Path, roles: set[str], archive_dir: str | Path,
              tc_timeout_s: float = 30.0) -> Any:
    """The Hub of a fleet file for `roles`, or a one-line ValueError."""
    from ground.dictionary import Dictionary
    from ground.keys import load_holder
    from ground.session import SpacecraftConfig
    from ground.web.hub import Hub
    try:
        fleet = json.loads(Path(fleet_path).read_text())
        craft = [SpacecraftConfig(s["name"], int(s["scid"]), s["url"],
                                  int(fleet.get("frame_len", 256)), s.get("key_file"))
                 for s in fleet["spacecraft"]]
        passes = {s["name"]: s.get("passes_s", []) for s in fleet["spacecraft"]}
        station_passes = {s["name"]: s.get("station_passes_s", {}) for s in fleet["spacecraft"]}
        dict_path = fleet["dictionary"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"fleet file {fleet_path}: {exc!r}") from None
    # Each spacecraft may have its own key file; the roles are the first one's.
    key_file = fleet.get("key_file") or next((c.key_file for c in craft if c.key_file), None)
    if not key_file:
        raise ValueError(f"fleet file {fleet_path} names no key file")
    holders = {r: load_holder(key_file, r) for r in sorted(roles)}
    state = Path(key_file).with_suffix(".ground-state")
    return Hub(Dictionary.load(dict_path), holders, craft, archive_dir, state, passes,
               station_passes, tc_timeout_s=tc_timeout_s)


def run_web(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ground.web.accounts import AccountError, UserStore
        from ground.web.app import create_app
    except ImportError as exc:
        return _fail(f"the web console needs the 'web' extra ({exc.name} is missing): "
                     "pip install 'tessera[web]'")
    try:
        users = UserStore(args.users)
        if not users.users:
            return _fail(f"{args.users} has no users: add one with tessera ground user")
        hub = build_hub(args.fleet, users.roles(), args.archive_dir, args.tc_timeout_s)
    except (ValueError, AccountError) as exc:
        return _fail(str(exc))
    hub.start()
    app = create_app(hub, users, secure_cookie=args.secure_cookie)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning",
                            ws="auto")
    server = uvicorn.Server(config)
    print(f"tessera ground web: http://{args.host}:{args.port}/ "
          f"(roles {', '.join(hub.sessions)})", flush=True)
    try:
        server.run()   # uvicorn ends on SIGINT and SIGTERM
    finally:
        hub.stop()
    return 0


def run_user(args: argparse.Namespace) -> int:
    from ground.keys import KeyFileError, load_holder
    from ground.web.accounts import AccountError, UserStore
    if args.keys:
        try:
            load_holder(args.keys, args.role)
        except KeyFileError as exc:
            return _fail(str(exc))
    password = (getpass.getpass("password: ") if sys.stdin.isatty()
                else sys.stdin.readline().rstrip("\n"))
    try:
        UserStore(args.users).add(args.name, args.role, password)
    except AccountError as exc:
        return _fail(str(exc))
    print(f"user {args.name} ({args.role}) saved in {args.users}")
    return 0


def register(gsub: argparse._SubParsersAction) -> None:
    web = gsub.add_parser("web", help="web operator console")
    web.add_argument("--fleet", type=existing_file, required=True,
                     help="fleet file written by tessera sim")
    web.add_argument("--users", type=existing_file, required=True,
                     help="users file (tessera ground user)")
    web.add_argument("--host", type=host_name, default="127.0.0.1")
    web.add_argument("--port", type=bounded_int(1, 65535), default=8080)
    web.add_argument("--archive-dir", type=writable_dir, default="ground-web",
                     help="folder for each role's archive and the command log")
    web.add_argument("--tc-timeout-s", type=bounded_float(0.1, 86400.0), default=30.0)
    web.add_argument("--secure-cookie", action="store_true",
                     help="mark the session cookie Secure (behind an HTTPS proxy)")
    web.set_defaults(run=run_web)

    user = gsub.add_parser("user", help="add or change a web console user (password on stdin)")
    user.add_argument("name", type=account_name)
    user.add_argument("--role", type=account_name, required=True,
                      help="key holder: operator or a partner")
    user.add_argument("--users", type=writable_file, default="users.json")
    user.add_argument("--keys", type=existing_file, help="check the role in this key file")
    user.set_defaults(run=run_user)

