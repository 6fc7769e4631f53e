"""`tessera ground`: the ground segment.

    tessera ground console --fleet out/fleet.json --role operator
    tessera ground run PROCEDURE.py --fleet out/fleet.json --role uni-a
    tessera ground upload BUNDLE --fleet out/fleet.json [--install] [--start]
    tessera ground plot PARAM --from T0 --to T1 --archive ground.db --out plot.png
    tessera ground export --param PARAM --from T0 --to T1 --format csv --archive ground.db
    tessera ground replay --archive ground.db --dict dictionary.json

A session connects to the spacecraft of a fleet file (written by
`tessera sim`) or to one link (``--link URL --scid N``), as one key holder
(``--role``) of a key file, with a dictionary written by
`tessera dict export`. Times are on-board mission seconds.
"""

from __future__ import annotations

import argparse
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


def _fail(text: str) -> int:
    print(f"tessera ground: {text}", file=sys.stderr)
    return 2


@rejects("tcp://nowhere", "tcp://localhost:99999", "", "kiss+")
def link_url(text: str) -> str:
    from ground.link import parse_link_url
    try:
        parse_link_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


@rejects("", "has space", "a/b")
def simple_name(text: str) -> str:
    """A key holder or spacecraft name: letters, digits, '-', '_' and '.'."""
    if not text or not all(c.isalnum() or c in "-_." for c in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a name (letters, digits, - _ .)")
    return text


@rejects("", "nodots", "a..b", "with space.x")
def parameter_name(text: str) -> str:
    """A dictionary parameter name: APP.PACKET.FIELD."""
    parts = text.split(".")
    if len(parts) < 2 or not all(p and p.replace("_", "a").isalnum() for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a parameter name (APP.PACKET.FIELD)")
    return text


def _session(args: argparse.Namespace, notify: Any = None) -> Any:
    """The Session the options describe, or a one-line ValueError."""
    from ground.archive import SqliteArchive
    from ground.dictionary import Dictionary
    from ground.keys import load_holder
    from ground.session import Session, SpacecraftConfig

    fleet: dict[str, Any] = {}
    if args.fleet:
        try:
            fleet = json.loads(Path(args.fleet).read_text())
            craft = [SpacecraftConfig(s["name"], int(s["scid"]), s["url"],
                                      int(fleet.get("frame_len", 256)),
                                      None if args.keys else s.get("key_file"))
                     for s in fleet["spacecraft"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"fleet file {args.fleet}: {exc!r}") from None
    elif args.link:
        if args.scid is None:
            raise ValueError("--link needs --scid")
        craft = [SpacecraftConfig(f"sc{i + 1}", args.scid, url, args.frame_len)
                 for i, url in enumerate(args.link)]
    else:
        raise ValueError("say where the spacecraft are: --fleet FILE or --link URL --scid N")
    if args.only:
        craft = [c for c in craft if c.name in args.only]
        if not craft:
            raise ValueError(f"no spacecraft named {', '.join(args.only)}")
    key_file = args.keys or next((c.key_file for c in craft if c.key_file), None)
    if not key_file:
        raise ValueError("no key file: give --keys FILE")
    dict_path = args.dict or fleet.get("dictionary")
    if not dict_path:
        raise ValueError("no dictionary: give --dict FILE (tessera dict export --out FILE)")
    dictionary = Dictionary.load(dict_path)
    holder = load_holder(key_file, args.role)  # raises KeyFileError, a ValueError
    archive = SqliteArchive(args.archive)
    # The uplink's anti-replay counter belongs to the key, not to one archive: every
    # session of a role shares it, so a second archive never reuses a sequence number.
    state = Path(args.state) if args.state else Path(key_file).with_suffix(".ground-state")
    return Session(dictionary, holder, archive, craft, state, notify,
                   tc_timeout_s=args.tc_timeout_s)


def run_console(args: argparse.Namespace) -> int:
    from ground.console import run_console as loop
    try:
        session = _session(args)
    except ValueError as exc:
        return _fail(str(exc))
    stdin = None if sys.stdin.isatty() else sys.stdin
    return loop(session, history=args.history, stdin=stdin)


def run_procedure(args: argparse.Namespace) -> int:
    from ground.procedure import ProcedureApi, ProcedureFailed
    from ground.procedure import run_procedure as run
    from ground.session import CommandRefusedError

    def log(text: str) -> None:
        print(text, flush=True)

    try:
        session = _session(args, lambda kind, text, _severity: log(f"[{kind}] {text}"))
    except ValueError as exc:
        return _fail(str(exc))
    session.start()
    try:
        run(args.procedure, ProcedureApi(session, log, ready_timeout_s=args.ready_timeout_s))
    except (ProcedureFailed, AssertionError, CommandRefusedError) as exc:
        print(f"procedure failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the procedure's own bug: one line, not a traceback
        print(f"procedure error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        session.stop()
    print("procedure completed")
    return 0


def run_upload(args: argparse.Namespace) -> int:
    from ground.file_transfer import UploadError
    from ground.procedure import ProcedureApi, ProcedureFailed
    from ground.session import CommandRefusedError

    def log(text: str) -> None:
        print(text, flush=True)

    try:
        session = _session(args, lambda kind, text, _severity: log(f"[{kind}] {text}")
                           if kind in ("link", "error") else None)
    except ValueError as exc:
        return _fail(str(exc))
    session.start()
    try:
        log(f"{args.bundle.name}: {args.bundle.stat().st_size} octets to "
            f"{session.spacecraft(args.spacecraft).config.name} at {args.bit_rate:g} bit/s; "
            "waiting for a pass")
        api = ProcedureApi(session, log, ready_timeout_s=args.timeout_s)
        api.upload_file(args.bundle, args.name, install=args.install or args.start,
                        start=args.start, spacecraft=args.spacecraft,
                        timeout_s=args.timeout_s, bit_rate=args.bit_rate)
    except (UploadError, ProcedureFailed, CommandRefusedError) as exc:
        print(f"upload failed: {exc}", file=sys.stderr)
        return 1
    finally:
        session.stop()
    print("installed" + (" and started" if args.start else "") if args.install or args.start
          else "uploaded")
    return 0


@rejects("", "a/b", "../x", "x" * 49, ".hidden")
def onboard_name(text: str) -> str:
    from ground.file_transfer import SAFE_NAME
    if not SAFE_NAME.match(text):
        raise argparse.ArgumentTypeError(f"{text!r}: an on-board file name is 1-48 of "
                                         "A-Z a-z 0-9 . _ - (no path)")
    return text


def _archive(args: argparse.Namespace) -> Any:
    from ground.archive import SqliteArchive
    if not Path(args.archive).is_file():
        raise ValueError(f"{args.archive}: no such archive")
    return SqliteArchive(args.archive)


def _archive_and_scid(args: argparse.Namespace) -> tuple[Any, int]:
    """The archive and the spacecraft the options name (ValueError: one line)."""
    archive = _archive(args)
    if args.scid is not None:
        return archive, args.scid
    known = archive.spacecraft()
    if len(known) != 1:
        raise ValueError(f"the archive holds spacecraft {', '.join(hex(s) for s in known)}: "
                         "give --scid")
    return archive, known[0]


def run_plot(args: argparse.Namespace) -> int:
    try:
        archive, scid = _archive_and_scid(args)
    except ValueError as exc:
        return _fail(str(exc))
    rows = archive.samples(scid, args.param, args.t_from, args.t_to)
    if not rows:
        return _fail(f"no samples of {args.param} between {args.t_from:g} and {args.t_to:g} s")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 4))
    numeric = [(t, e) for t, _r, e in rows if isinstance(e, (int, float))]
    if not numeric:
        return _fail(f"{args.param} is not numeric")
    ax.plot([t for t, _ in numeric], [e for _, e in numeric], ".-", lw=0.8)
    ax.set_xlabel("on-board time, s")
    ax.set_ylabel(args.param)
    ax.set_title(f"{args.param}, SCID {scid:#05x}")
    ax.grid(True, alpha=0.3)
    try:
        fig.savefig(args.out, dpi=100)
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror}")
    print(f"wrote {args.out} ({len(numeric)} samples)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ground.archive import export_samples
    try:
        archive, scid = _archive_and_scid(args)
    except ValueError as exc:
        return _fail(str(exc))
    names = args.param or archive.parameter_names()
    try:
        out = open(args.out, "w", newline="") if args.out else sys.stdout
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror}")
    try:
        n = export_samples(archive, scid, names, args.t_from, args.t_to, out, args.format)
    finally:
        if args.out:
            out.close()
    print(f"exported {n} samples", file=sys.stderr)
    return 0


def run_replay(args: argparse.Namespace) -> int:
    from ground.dictionary import Dictionary, DictionaryError
    from ground.replay import replay
    try:
        archive, scid = _archive_and_scid(args)
        dictionary = Dictionary.load(args.dict)
    except (ValueError, DictionaryError) as exc:
        return _fail(str(exc))
    stats = replay(archive, scid, dictionary, args.frame_len, args.t_from, args.t_to)
    print(stats)
    return 0


def _session_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fleet", type=existing_file, help="fleet file written by tessera sim")
    p.add_argument("--link", type=link_url, action="append",
                   help="tcp://HOST:PORT, kiss+URL or a pyserial URL (repeatable)")
    p.add_argument("--scid", type=bounded_int(0, 0x3FF), help="spacecraft ID with --link")
    p.add_argument("--only", type=simple_name, action="append",
                   help="talk only to this spacecraft of the fleet")
    p.add_argument("--frame-len", type=bounded_int(16, 2048), default=256,
                   help="TM frame length, octets (with --link)")
    p.add_argument("--keys", type=existing_file, help="key file (default: the fleet's)")
    p.add_argument("--role", type=simple_name, default="operator", help="key holder to act as")
    p.add_argument("--dict", type=existing_file, help="dictionary JSON (default: the fleet's)")
    p.add_argument("--archive", type=writable_file, default="ground.db",
                   help="SQLite archive file")
    p.add_argument("--state", type=writable_dir,
                   help="folder for the uplink state (ARSN); default beside the key file")
    p.add_argument("--tc-timeout-s", type=bounded_float(0.1, 86400.0), default=30.0)


def _range_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--archive", type=existing_file, default="ground.db",
                   help="SQLite archive file")
    p.add_argument("--scid", type=bounded_int(0, 0x3FF))
    p.add_argument("--from", dest="t_from", type=bounded_float(), default=float("-inf"),
                   help="on-board time, s")
    p.add_argument("--to", dest="t_to", type=bounded_float(), default=float("inf"),
                   help="on-board time, s")


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("ground", help="ground segment: console, procedures, archive")
    gsub = g.add_subparsers(dest="ground_command", required=True, parser_class=type(g))
    console = gsub.add_parser("console", help="interactive operator console")
    _session_options(console)
    console.add_argument("--history", type=writable_file,
                         default=str(Path.home() / ".tessera_ground_history"))
    console.set_defaults(run=run_console)

    run = gsub.add_parser("run", help="run a procedure file")
    run.add_argument("procedure", type=existing_file)
    _session_options(run)
    run.add_argument("--ready-timeout-s", type=bounded_float(0.1, 86400.0), default=120.0,
                     help="how long to wait for a pass before the first TC")
    run.set_defaults(run=run_procedure)

    upload = gsub.add_parser("upload", help="send a file (a partner bundle) by CFDP class 2, "
                                             "across passes; optionally install and start it")
    upload.add_argument("bundle", type=existing_file)
    _session_options(upload)
    upload.add_argument("--name", type=onboard_name,
                        help="file name on board (default: the bundle's)")
    upload.add_argument("--spacecraft", type=simple_name,
                        help="which spacecraft of the fleet (default: the first)")
    upload.add_argument("--install", action="store_true",
                        help="then command the payload host to install it")
    upload.add_argument("--start", action="store_true",
                        help="then install it and start its app")
    upload.add_argument("--bit-rate", type=bounded_float(300.0, 500_000.0), default=9600.0,
                        help="uplink rate to pace the PDUs at, bit/s")
    upload.add_argument("--timeout-s", type=bounded_float(1.0, 864_000.0), default=3600.0,
                        help="give up after this long, s (passes included)")
    upload.set_defaults(run=run_upload)

    plot = gsub.add_parser("plot", help="plot a parameter from the archive (PNG)")
    plot.add_argument("param", type=parameter_name)
    _range_options(plot)
    plot.add_argument("--out", type=writable_file, default="plot.png")
    plot.set_defaults(run=run_plot)

    export = gsub.add_parser("export", help="export samples as CSV or JSON lines")
    _range_options(export)
    export.add_argument("--param", type=parameter_name, action="append",
                        help="parameter (repeatable; default all)")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--out", type=writable_file, help="file (default: standard output)")
    export.set_defaults(run=run_export)

    replay = gsub.add_parser("replay", help="decode the archived frames again")
    _range_options(replay)
    replay.add_argument("--dict", type=existing_file, required=True)
    replay.add_argument("--frame-len", type=bounded_int(16, 2048), default=256)
    replay.set_defaults(run=run_replay)

    from tessera.commands import web
    web.register(gsub)
