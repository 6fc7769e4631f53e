"""`tessera dict export`: the command and telemetry dictionary of a flight configuration.

Generated from what the flight apps declare, and partner apps from their
manifests (``--app PATH``, or ``--fleet FILE`` for the apps a simulated fleet
flies); an id declared twice is refused; ``--format json`` is what the
ground reads, ``xtce`` (XTCE 1.2) and ``cosmos`` (OpenC3 COSMOS definitions)
are for other mission-control tools.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tessera.options import existing_file, partner_project, rejects, writable_file


def run_export(args: argparse.Namespace) -> int:
    import json

    from fsw.core.errors import ConfigError
    from fsw.payload.manifest import ManifestError, load_manifest
    from ground.dictionary import Dictionary, DictionaryError, generate
    from ground.exports import to_cosmos, to_xtce
    from ground.payload import dictionary_app

    try:
        projects = list(args.app or [])
        if args.fleet:
            projects += [Path(p) for p in json.loads(Path(args.fleet).read_text()).get(
                "apps", [])]
        extra = [dictionary_app(load_manifest(Path(p) / "manifest.toml")) for p in projects]
        doc = generate(args.config or default_flight_config(), extra_apps=extra)
        if args.format == "json":
            text = json.dumps(doc, indent=1) + "\n"
        elif args.format == "xtce":
            dictionary = Dictionary(doc)
            text = to_xtce(dictionary.packets.values(),
                           commands=[c for app in dictionary.apps.values()
                                     for c in app.commands.values()])
        else:
            text = to_cosmos(Dictionary(doc), target=args.target)
    except (ConfigError, DictionaryError, ManifestError, OSError, ValueError) as exc:
        print(f"tessera dict: {exc}", file=sys.stderr)
        return 2
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.out).write_text(text)
    except OSError as exc:
        print(f"tessera dict: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


def default_flight_config() -> Path:
    from ground.sim.sil import DEFAULT_FLIGHT_CONFIG
    return DEFAULT_FLIGHT_CONFIG


@rejects("lower", "TWO__UNDERSCORES", "", "1ABC")
def target_name(text: str) -> str:
    if not text.isidentifier() or not text.isupper() or "__" in text:
        raise argparse.ArgumentTypeError(f"{text!r} is not an upper-case COSMOS target name")
    return text


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("dict", help="the command and telemetry dictionary")
    dsub = d.add_subparsers(dest="dict_command", required=True, parser_class=type(d))
    export = dsub.add_parser("export", help="write the dictionary (JSON, XTCE 1.2 or COSMOS)")
    export.add_argument("--format", choices=("json", "xtce", "cosmos"), default="json")
    export.add_argument("--config", type=existing_file, default=None,
                        help="flight configuration (default: the reference configuration)")
    export.add_argument("--app", type=partner_project, action="append", metavar="PATH",
                        help="include a partner app project, from its manifest (repeatable)")
    export.add_argument("--fleet", type=existing_file,
                        help="include the partner apps a simulated fleet flies (its fleet.json)")
    export.add_argument("--out", type=writable_file, default=None,
                        help="file to write (default: standard output)")
    export.add_argument("--target", type=target_name, default="TESSERA",
                        help="COSMOS target name")
    export.set_defaults(run=run_export)
