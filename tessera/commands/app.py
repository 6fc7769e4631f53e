"""`tessera app`: partner payload apps, from a new project to a signed bundle.

    tessera app new NAME [--dir DIR] [--partner P] [--apid N]   a project outside the tree
    tessera app check PATH [--allocations FILE]                 manifest vs the allocation
    tessera app keygen --out FILE                               an Ed25519 signing key
    tessera app pack PATH --key FILE [--operator-key FILE] [--valid-days N] [--out FILE]
    tessera app cosign BUNDLE --key FILE --allocations FILE [--out FILE]   (bus operator)
    tessera app verify BUNDLE --allocations FILE [--installed-version N]
    tessera app audit LOG                                       read a downlinked audit log

Every refusal is one line on stderr; `check`, `cosign`, `verify` and `audit` exit 1
when the manifest or bundle is refused, 2 for bad options.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tessera.options import bounded_float, bounded_int, existing_file, rejects, writable_dir

TESSERA_ROOT = Path(__file__).resolve().parents[2]


@rejects("Bad-Name", "", "a" * 17, "9lives")
def _app_name(text: str) -> str:
    import re
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,15}", text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: an app name is 1-16 of a-z, 0-9, _ starting with a letter")
    return text


@rejects("Uni A", "", "-uni", "x" * 33)
def _partner(text: str) -> str:
    import re
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a partner (key holder) name")
    return text


@rejects("/nonexistent/project", "/")
def _project(text: str) -> Path:
    path = Path(text)
    if not (path / "manifest.toml").is_file():
        raise argparse.ArgumentTypeError(f"{text}: no manifest.toml there")
    return path


@rejects("/", "/nonexistent/out.key")
def _new_file(text: str) -> Path:
    path = Path(text)
    if path.exists():
        raise argparse.ArgumentTypeError(f"{text} already exists")
    if not path.parent.is_dir() and str(path.parent) not in ("", "."):
        raise argparse.ArgumentTypeError(f"{path.parent}: no such directory")
    return path


def _fail(text: str) -> int:
    print(f"tessera app: {text}", file=sys.stderr)
    return 1


def run_new(args: argparse.Namespace) -> int:
    from ground.payload import create_project
    dest = (args.dir / args.name).resolve()
    if dest == TESSERA_ROOT or TESSERA_ROOT in dest.parents:
        print(f"tessera app new: {dest} is inside the Tessera tree; partner projects live "
              "outside it (use --dir)", file=sys.stderr)
        return 2
    try:
        create_project(dest, args.name, args.partner, args.apid)
    except (FileExistsError, ValueError) as exc:
        print(f"tessera app new: {exc}", file=sys.stderr)
        return 2
    print(f"created {dest}: manifest.toml, {args.name}/app.py, tests/, scenario.toml")
    print(f"next: cd {dest} && tessera sim --app .")
    return 0


def _allocations(path: Path):
    from fsw.payload.manifest import load_allocations
    return load_allocations(path)


def run_check(args: argparse.Namespace) -> int:
    from fsw.payload.manifest import ManifestError, check_allocation, load_manifest
    try:
        manifest = load_manifest(args.path / "manifest.toml")
        over = check_allocation(manifest, _allocations(args.allocations).partners)
    except ManifestError as exc:
        return _fail(str(exc))
    if over:
        return _fail("; ".join(over))
    print(f"{manifest.partner}/{manifest.name} v{manifest.version}: fits the allocation")
    return 0


def run_keygen(args: argparse.Namespace) -> int:
    from fsw.payload.bundle import generate_key
    public = generate_key(args.out)
    print(public.hex())
    return 0


def run_pack(args: argparse.Namespace) -> int:
    from fsw.payload.bundle import load_private_key, pack
    from fsw.payload.manifest import ManifestError, load_manifest
    try:
        partner_key = load_private_key(args.key)
        operator_key = load_private_key(args.operator_key) if args.operator_key else None
        data = pack(args.path, partner_key, operator_key=operator_key,
                    valid_days=args.valid_days)
        manifest = load_manifest(args.path / "manifest.toml")
    except (ManifestError, ValueError, OSError) as exc:
        return _fail(str(exc))
    out = args.out or Path(f"{manifest.name}-{manifest.version}.bundle")
    out.write_bytes(data)
    signed = "partner and operator" if operator_key else "partner (operator co-signs next)"
    print(f"{out}: {len(data)} octets, signed by {signed}")
    return 0


def run_cosign(args: argparse.Namespace) -> int:
    import json

    from fsw.payload.bundle import (
        MANIFEST,
        METADATA,
        SIGNATURES,
        BundleError,
        check_signature,
        load_private_key,
        read_archive,
        sign,
        write_bundle,
    )
    from fsw.payload.manifest import ManifestError, check_allocation, parse_manifest
    try:
        files = read_archive(args.bundle.read_bytes())
        manifest = parse_manifest(files[MANIFEST])
        allocations = _allocations(args.allocations)
        alloc = allocations.get(manifest.partner)
        sigs = json.loads(files.get(SIGNATURES, b"[]"))
        check_signature(files[METADATA], sigs, "partner",
                        alloc.public_key if alloc else None, manifest.partner)
        over = check_allocation(manifest, allocations.partners)
        if over:
            return _fail("; ".join(over))
        sigs = sign(files[METADATA], "operator", load_private_key(args.key), sigs)
    except (BundleError, ManifestError, ValueError, KeyError, OSError) as exc:
        return _fail(str(exc))
    content = {p: b for p, b in files.items() if p not in (METADATA, SIGNATURES)}
    out = args.out or args.bundle
    out.write_bytes(write_bundle(content, files[METADATA], sigs))
    print(f"{out}: co-signed by the operator")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from fsw.payload.bundle import BundleError, verify_bundle
    from fsw.payload.manifest import ManifestError
    try:
        v = verify_bundle(args.bundle.read_bytes(), _allocations(args.allocations),
                          highest_version=args.installed_version, now_s=time.time())
    except (BundleError, ManifestError) as exc:
        return _fail(f"refused: {exc}")
    m = v.manifest
    print(f"accepted: {m.partner}/{m.name} v{m.version}, {len(v.files)} files")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from fsw.payload.audit import AuditError, verify_chain
    try:
        records = verify_chain(args.log.read_bytes().splitlines())
    except AuditError as exc:
        return _fail(f"{args.log}: {exc}")
    for r in records:
        print(f"{r.seq:6d} t={r.time_s:10.1f} s  {r.actor:<9} {r.action:<12} {r.app:<16} "
              f"{r.detail}")
    print(f"{len(records)} records, chain intact")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from ground.payload import OPERATOR_ALLOCATIONS
    app = sub.add_parser("app", help="partner payload apps: new, check, keygen, pack, "
                                     "cosign, verify")
    verbs = app.add_subparsers(dest="verb", required=True, parser_class=type(app))

    new = verbs.add_parser("new", help="create a partner app project outside the tree")
    new.add_argument("name", type=_app_name)
    new.add_argument("--dir", type=writable_dir, default=Path("."), help="where to create it")
    new.add_argument("--partner", type=_partner, default="uni-a")
    new.add_argument("--apid", type=bounded_int(0x100, 0x7FD), default=0x100,
                     help="first of the APIDs your allocation gives you")
    new.set_defaults(run=run_new)

    check = verbs.add_parser("check", help="check a manifest against the allocation")
    check.add_argument("path", type=_project)
    check.add_argument("--allocations", type=existing_file, default=OPERATOR_ALLOCATIONS)
    check.set_defaults(run=run_check)

    keygen = verbs.add_parser("keygen", help="make an Ed25519 signing key (prints the public key)")
    keygen.add_argument("--out", type=_new_file, required=True)
    keygen.set_defaults(run=run_keygen)

    pack = verbs.add_parser("pack", help="make the signed bundle of a project")
    pack.add_argument("path", type=_project)
    pack.add_argument("--key", type=existing_file, required=True, help="partner's private key")
    pack.add_argument("--operator-key", type=existing_file,
                      help="operator's key (when the operator packs it)")
    pack.add_argument("--valid-days", type=bounded_float(0.0, 3650.0, low_open=True),
                      default=90.0)
    pack.add_argument("--out", type=_new_file)
    pack.set_defaults(run=run_pack)

    cosign = verbs.add_parser("cosign", help="the operator's co-signature, after checking "
                                             "the allocation")
    cosign.add_argument("bundle", type=existing_file)
    cosign.add_argument("--key", type=existing_file, required=True)
    cosign.add_argument("--allocations", type=existing_file, required=True)
    cosign.add_argument("--out", type=_new_file)
    cosign.set_defaults(run=run_cosign)

    verify = verbs.add_parser("verify", help="check a bundle as the spacecraft will")
    verify.add_argument("bundle", type=existing_file)
    verify.add_argument("--allocations", type=existing_file, required=True)
    verify.add_argument("--installed-version", type=bounded_int(0, 2**31 - 1), default=0)
    verify.set_defaults(run=run_verify)

    audit = verbs.add_parser("audit", help="check and print a downlinked audit log")
    audit.add_argument("log", type=existing_file)
    audit.set_defaults(run=run_audit)
