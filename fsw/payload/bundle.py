"""Signed payload app bundles: packing, signing and on-board verification.

A bundle is a POSIX tar archive (no compression) holding:

- ``manifest.toml`` and the app's files under ``app/``;
- ``metadata.json``: what is signed, in the spirit of TUF targets metadata
  (theupdateframework.io specification, sec. 4.5): bundle format, app,
  partner, version, expiry (UTC), and the SHA-256 and length of every file;
- ``signatures.json``: Ed25519 signatures (RFC 8032) over the exact bytes
  of ``metadata.json``, one by the partner and one by the bus operator, each
  with the key id (SHA-256 of the raw public key).

On board (`verify_bundle`) a bundle is refused, with a `BundleError` whose
`reason` says why, when it is malformed, unsigned, signed by a key that is
not the partner's or the operator's, tampered (a file whose hash or length
differs, a file not listed, a listed file missing), rolled back (version
not above the highest ever installed), expired, or asking more than its
partner's allocation. The checks run in that order, signatures before any
content is believed. `verify_installed` re-checks an installed copy at
every start.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fsw.payload.manifest import (
    Allocations,
    Manifest,
    ManifestError,
    check_allocation,
    parse_manifest,
)

FORMAT = "tessera-payload-bundle/1"
MAX_BUNDLE_BYTES = 4 * 1024 * 1024
MAX_FILES = 256
MAX_METADATA_BYTES = 256 * 1024
METADATA = "metadata.json"
SIGNATURES = "signatures.json"
MANIFEST = "manifest.toml"
ROLES = ("partner", "operator")


class Refusal(Enum):
    """Why a bundle was refused (the value is the text used in events and the audit log)."""

    MALFORMED = "malformed"
    UNSIGNED = "unsigned"
    WRONG_SIGNATURE = "wrongly signed"
    TAMPERED = "tampered"
    ROLLED_BACK = "rolled back"
    EXPIRED = "expired"
    OVER_ALLOCATION = "over allocation"


class BundleError(Exception):
    """A bundle refused on board; `reason` is the kind of refusal, the text the detail."""

    def __init__(self, reason: Refusal, text: str) -> None:
        super().__init__(f"{reason.value}: {text}")
        self.reason = reason


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle that passed every check: its manifest, metadata and file contents."""

    manifest: Manifest
    metadata: dict
    metadata_bytes: bytes
    signatures_bytes: bytes
    files: dict[str, bytes]  # archive path -> content, manifest.toml and app/... only


# -- keys ---------------------------------------------------------------------------
def key_id(public_raw: bytes) -> str:
    """The key id: SHA-256 of the raw 32-octet Ed25519 public key, hex."""
    return hashlib.sha256(public_raw).hexdigest()


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def generate_key(path: str | Path) -> bytes:
    """Write a new Ed25519 private key (PEM, PKCS#8, mode 0600); return its raw public key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(pem)
    p.chmod(0o600)
    return public_raw(key)


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Read a PEM Ed25519 private key; ValueError says what is wrong."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 key")
    return key


# -- packing (ground side, used by `tessera app pack`) -------------------------------
def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_utc(text: object) -> float:
    if not isinstance(text, str):
        raise ValueError("expiry is not a string")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def collect_files(project: str | Path) -> dict[str, bytes]:
    """The files a bundle carries from a partner project: manifest.toml and the
    app package (the directory named by the manifest entry's top package)."""
    root = Path(project)
    manifest_bytes = (root / MANIFEST).read_bytes()
    manifest = parse_manifest(manifest_bytes)
    package = manifest.entry.split(":")[0].split(".")[0]
    pkg_dir = root / package
    if not pkg_dir.is_dir():
        raise ManifestError(f"app.entry names package {package!r}, but {pkg_dir} is missing")
    files = {MANIFEST: manifest_bytes}
    for path in sorted(pkg_dir.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[f"app/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    return files


def build_metadata(files: Mapping[str, bytes], manifest: Manifest, *,
                   expires_s: float) -> bytes:
    """Canonical metadata bytes for `files` (sorted keys, no spaces)."""
    meta = {
        "format": FORMAT, "app": manifest.name, "partner": manifest.partner,
        "version": manifest.version, "expires": _utc(expires_s),
        "files": {p: {"sha256": hashlib.sha256(b).hexdigest(), "length": len(b)}
                  for p, b in sorted(files.items())},
    }
    return json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()


def sign(metadata_bytes: bytes, role: str, key: Ed25519PrivateKey,
         signatures: list[dict] | None = None) -> list[dict]:
    """Add (or replace) `role`'s signature over the metadata bytes."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    sigs = [s for s in (signatures or []) if s.get("role") != role]
    sigs.append({"role": role, "keyid": key_id(public_raw(key)),
                 "sig": key.sign(metadata_bytes).hex()})
    return sorted(sigs, key=lambda s: ROLES.index(s["role"]))


def write_bundle(files: Mapping[str, bytes], metadata_bytes: bytes,
                 signatures: list[dict] | None) -> bytes:
    """The archive bytes; `signatures=None` leaves signatures.json out."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        entries = dict(files)
        entries[METADATA] = metadata_bytes
        if signatures is not None:
            entries[SIGNATURES] = json.dumps(signatures, indent=1).encode()
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0  # reproducible archives: the same files give the same bytes
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def pack(project: str | Path, partner_key: Ed25519PrivateKey, *,
         operator_key: Ed25519PrivateKey | None = None, valid_days: float = 90.0,
         now_s: float | None = None) -> bytes:
    """Bundle a partner project, signed by the partner (and the operator, if given)."""
    files = collect_files(project)
    manifest = parse_manifest(files[MANIFEST])
    now = time.time() if now_s is None else now_s
    meta = build_metadata(files, manifest, expires_s=now + valid_days * 86400.0)
    sigs = sign(meta, "partner", partner_key)
    if operator_key is not None:
        sigs = sign(meta, "operator", operator_key, sigs)
    return write_bundle(files, meta, sigs)


def read_archive(data: bytes) -> dict[str, bytes]:
    """Every regular file of a bundle archive; BundleError(MALFORMED) for anything odd."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(Refusal.MALFORMED, f"{len(data)} bytes, at most {MAX_BUNDLE_BYTES}")
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for info in tar:
                if len(files) >= MAX_FILES:
                    raise BundleError(Refusal.MALFORMED, f"more than {MAX_FILES} files")
                if not info.isreg():
                    raise BundleError(Refusal.MALFORMED, f"{info.name!r} is not a regular file")
                p = PurePosixPath(info.name)
                if p.is_absolute() or ".." in p.parts or str(p) != info.name:
                    raise BundleError(Refusal.MALFORMED, f"unsafe path {info.name!r}")
                if info.name in files:
                    raise BundleError(Refusal.MALFORMED, f"{info.name!r} appears twice")
                total += info.size
                if total > MAX_BUNDLE_BYTES:
                    raise BundleError(Refusal.MALFORMED, "contents larger than the archive limit")
                fh = tar.extractfile(info)
                files[info.name] = fh.read() if fh else b""
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as exc:
        raise BundleError(Refusal.MALFORMED, f"not a bundle archive: {exc}") from None
    return files


def _signatures(raw: bytes | None) -> list[dict]:
    if raw is None:
        raise BundleError(Refusal.UNSIGNED, "the bundle carries no signatures")
    try:
        sigs = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BundleError(Refusal.MALFORMED, "signatures.json is not JSON") from None
    if not isinstance(sigs, list) or not all(isinstance(s, dict) for s in sigs):
        raise BundleError(Refusal.MALFORMED, "signatures.json must be a list of objects")
    return sigs


def check_signature(metadata_bytes: bytes, sigs: list[dict], role: str,
                    expected_key: bytes | None, who: str) -> None:
    """The `role` signature must exist, name `expected_key` and verify."""
    mine = [s for s in sigs if s.get("role") == role]
    if not mine:
        raise BundleError(Refusal.UNSIGNED, f"no {role} signature ({who})")
    if expected_key is None:
        raise BundleError(Refusal.WRONG_SIGNATURE, f"no {role} key is on board for {who}")
    sig = mine[0]
    try:
        sig_bytes = bytes.fromhex(str(sig.get("sig", "")))
    except ValueError:
        raise BundleError(Refusal.WRONG_SIGNATURE, f"{role} signature is not hex") from None
    if sig.get("keyid") != key_id(expected_key):
        raise BundleError(Refusal.WRONG_SIGNATURE,
                          f"{role} signature is by key {str(sig.get('keyid'))[:16]}, "
                          f"not {who}'s key {key_id(expected_key)[:16]}")
    try:
        Ed25519PublicKey.from_public_bytes(expected_key).verify(sig_bytes, metadata_bytes)
    except InvalidSignature:
        raise BundleError(Refusal.WRONG_SIGNATURE,
                          f"{role} signature does not verify with {who}'s key") from None


def _check_files(files: Mapping[str, bytes], listed: object) -> None:
    if not isinstance(listed, dict):
        raise BundleError(Refusal.MALFORMED, "metadata has no file list")
    present = {p for p in files if p not in (METADATA, SIGNATURES)}
    for path in sorted(present - set(listed)):
        raise BundleError(Refusal.TAMPERED, f"{path} is not in the signed file list")
    for path, entry in sorted(listed.items()):
        if path not in files:
            raise BundleError(Refusal.TAMPERED, f"{path} is listed but missing")
        data = files[path]
        if not isinstance(entry, dict) or entry.get("length") != len(data) or \
                entry.get("sha256") != hashlib.sha256(data).hexdigest():
            raise BundleError(Refusal.TAMPERED, f"{path} does not match its signed hash")


def _metadata(raw: bytes | None) -> dict:
    if raw is None:
        raise BundleError(Refusal.MALFORMED, "metadata.json is missing")
    if len(raw) > MAX_METADATA_BYTES:
        raise BundleError(Refusal.MALFORMED, "metadata.json is too large")
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BundleError(Refusal.MALFORMED, "metadata.json is not JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise BundleError(Refusal.MALFORMED, f"metadata.json is not {FORMAT}")
    return meta


def verify_bundle(data: bytes, allocations: Allocations, *, highest_version: int = 0,
                  now_s: float | None = None) -> VerifiedBundle:
    """Check a received bundle completely; return it or raise BundleError.

    `highest_version` is the highest version of this app ever installed on
    board (0 for none): a bundle must be above it. `now_s` is UTC seconds
    since 1970 (the on-board clock); the bundle must not have expired.
    """
    files = read_archive(data)
    meta_raw = files.get(METADATA)
    meta = _metadata(meta_raw)
    assert meta_raw is not None
    partner = meta.get("partner")
    if not isinstance(partner, str):
        raise BundleError(Refusal.MALFORMED, "metadata names no partner")
    sigs = _signatures(files.get(SIGNATURES))
    alloc = allocations.get(partner)
    check_signature(meta_raw, sigs, "partner", alloc.public_key if alloc else None, partner)
    check_signature(meta_raw, sigs, "operator", allocations.operator_key, "the operator")
    # From here on the metadata is authentic: believe it, and hold the files to it.
    _check_files(files, meta.get("files"))
    try:
        manifest = parse_manifest(files[MANIFEST])
    except KeyError:
        raise BundleError(Refusal.MALFORMED, "manifest.toml is missing") from None
    except ManifestError as exc:
        raise BundleError(Refusal.MALFORMED, f"manifest: {exc}") from None
    if (manifest.name, manifest.partner, manifest.version) != \
            (meta.get("app"), partner, meta.get("version")):
        raise BundleError(Refusal.MALFORMED, "manifest and signed metadata disagree on "
                                             "app, partner or version")
    if manifest.version <= highest_version:
        raise BundleError(Refusal.ROLLED_BACK, f"{manifest.name} version {manifest.version} is "
                          f"not above version {highest_version} already installed")
    try:
        expires = _parse_utc(meta.get("expires"))
    except ValueError:
        raise BundleError(Refusal.MALFORMED, "metadata expiry is not a UTC time") from None
    now = time.time() if now_s is None else now_s
    if now >= expires:
        raise BundleError(Refusal.EXPIRED, f"the bundle expired at {meta['expires']} "
                          f"(now {_utc(now)})")
    over = check_allocation(manifest, allocations)
    if over:
        raise BundleError(Refusal.OVER_ALLOCATION, "; ".join(over))
    content = {p: b for p, b in files.items() if p not in (METADATA, SIGNATURES)}
    return VerifiedBundle(manifest, meta, meta_raw, files[SIGNATURES], content)


def verify_installed(directory: str | Path, allocations: Allocations) -> Manifest:
    """Re-check an installed bundle (at every start): signatures, then every file's hash.

    `directory` holds metadata.json, signatures.json and the files under
    their archive paths. Raises BundleError(TAMPERED) for a changed,
    added or missing file.
    """
    root = Path(directory)
    try:
        meta_raw = (root / METADATA).read_bytes()
        sig_raw = (root / SIGNATURES).read_bytes()
    except OSError as exc:
        raise BundleError(Refusal.TAMPERED, f"installed metadata unreadable: {exc}") from None
    meta = _metadata(meta_raw)
    sigs = _signatures(sig_raw)
    alloc = allocations.get(str(meta.get("partner")))
    check_signature(meta_raw, sigs, "partner", alloc.public_key if alloc else None,
                    str(meta.get("partner")))
    check_signature(meta_raw, sigs, "operator", allocations.operator_key, "the operator")
    files: dict[str, bytes] = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel not in (METADATA, SIGNATURES) and \
                "__pycache__" not in path.parts:
            files[rel] = path.read_bytes()
    _check_files(files, meta.get("files"))
    return parse_manifest(files[MANIFEST])
