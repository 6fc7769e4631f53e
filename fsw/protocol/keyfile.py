"""The key file: one entry per key holder, each with one security association
(CCSDS 355.0-B-2) and that holder's rights, all stated explicitly.

Format (JSON, version 2; keys in hex; the same file on board and on the
ground, where each key holder keeps only its own entry's key):

    {"version": 2,
     "kek": "<16, 24 or 32 octets hex, optional: AES key-encryption key for rekeying>",
     "key_holders": [
       {"name": "operator", "spi": 1, "key": "<32 octets hex>",
        "rights": {"apids": "all", "vcids": [0], "maps": "all", "farm_control": "all",
                   "whole_schedule": true, "key_management": true},
        "quotas": {"schedule_slots": 256, "event_table_entries": 1024,
                   "tcs_per_s": 100, "tm_bytes_per_cycle": 16384}},
       {"name": "uni-a", "spi": 10, "key": "<32 octets hex>",
        "rights": {"apids": ["0x100-0x10F"], "vcids": [1], "maps": [0], "farm_control": [1],
                   "whole_schedule": false, "key_management": false},
        "quotas": {"schedule_slots": 32, "event_table_entries": 64,
                   "tcs_per_s": 20, "tm_bytes_per_cycle": 2048}}
     ]}

Every field of `rights` is required but `functions` (single functions of
other APIDs, `["0x012:11"]`: see `fsw.protocol.rights`): a holder has no
right the file does not name. `apids` and the other sets take "all", or a list of integers,
`[low, high]` pairs and `"0x100-0x10F"` strings. `quotas` may be left out
(the defaults of `fsw.protocol.rights.Quotas`); the optional SA parameters
`arsn_len` (4), `mac_len` (16), `arsn_window` (64) and `operational` (true)
sit beside `spi`.

Rules checked on load: names and SPIs unique; SPI 1..0xFFFE; a data VC
(`vcids`) belongs to one key holder only, so no holder can move another's
FARM-1; MAP 63 (security management) only for holders with key management.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fsw.core.ids import MODE_APID
from fsw.protocol.errors import Reason, SecurityError
from fsw.protocol.rights import (
    MAX_APID,
    MAX_MAP_ID,
    MAX_VCID,
    OPERATOR_QUOTAS,
    Quotas,
    Rights,
    parse_functions,
    parse_ranges,
)
from fsw.protocol.sdls import MANAGEMENT_MAP, SecurityAssociation, SecurityEngine
from fsw.protocol.store import ArsnStore

VERSION = 2
_RIGHTS_FIELDS = ("apids", "vcids", "maps", "farm_control", "whole_schedule", "key_management")

# What the example partners may do beyond their own APIDs: ask the mode
# manager for a transition it allows partners (REQUEST_MODE, fsw.apps.mode).
PARTNER_FUNCTIONS = ((MODE_APID, 11),)

# The example allocation of the simulator (docs/space-link.md): the bus
# operator and two partner universities, each on its own TC virtual channel.
SIMULATOR_HOLDERS: tuple[tuple[str, int, Rights], ...] = (
    ("operator", 1, Rights.operator(vcids=(0,))),
    ("uni-a", 10, Rights.partner(range(0x100, 0x110), vcids=(1,), functions=PARTNER_FUNCTIONS)),
    ("uni-b", 11, Rights.partner(range(0x110, 0x120), vcids=(2,), functions=PARTNER_FUNCTIONS)),
)


@dataclass
class KeyFile:
    """A loaded key file: the security associations (one per key holder) and the KEK."""

    sas: list[SecurityAssociation]
    kek: bytes | None = None

    def __post_init__(self) -> None:
        check_allocation(self.sas)

    def by_name(self, name: str) -> SecurityAssociation:
        """The SA of key holder `name` (KeyError if there is none)."""
        for sa in self.sas:
            if sa.owner == name:
                return sa
        raise KeyError(name)

    def by_spi(self, spi: int) -> SecurityAssociation:
        for sa in self.sas:
            if sa.spi == spi:
                return sa
        raise KeyError(spi)

    @property
    def vcids(self) -> frozenset[int]:
        """Every TC virtual channel some key holder sends data on."""
        return frozenset().union(*(sa.rights.vcids for sa in self.sas))

    def engine(self, store: ArsnStore) -> SecurityEngine:
        """The flight side's security engine over these SAs."""
        return SecurityEngine(self.sas, store, self.kek)

    def to_document(self) -> dict:
        """The JSON document of this key file (keys included)."""
        doc: dict = {"version": VERSION}
        if self.kek is not None:
            doc["kek"] = self.kek.hex()
        doc["key_holders"] = [holder_document(sa) for sa in self.sas]
        return doc

    def save(self, path: str | Path) -> None:
        """Write the file readable by its owner only (it holds secret keys)."""
        path = Path(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.to_document(), f, indent=1)
            f.write("\n")


def holder_document(sa: SecurityAssociation) -> dict:
    q = sa.rights.quotas
    return {"name": sa.owner, "spi": sa.spi, "key": sa.key.hex(),
            "arsn_len": sa.arsn_len, "mac_len": sa.mac_len, "arsn_window": sa.arsn_window,
            "operational": sa.operational,
            "rights": sa.rights.to_document(),
            "quotas": {"schedule_slots": q.schedule_slots,
                       "event_table_entries": q.event_table_entries,
                       "tcs_per_s": q.tcs_per_s, "tm_bytes_per_cycle": q.tm_bytes_per_cycle}}


def load_key_file(path: str | Path) -> KeyFile:
    """Read and check a key file; SecurityError(KEY_FILE) says what is wrong."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SecurityError(Reason.KEY_FILE, str(exc)) from exc
    return parse_key_document(doc)


def parse_key_document(doc: object) -> KeyFile:
    """Check a decoded key file document (see the module docstring)."""
    if not isinstance(doc, dict):
        raise SecurityError(Reason.KEY_FILE, "a key file is a JSON object")
    if doc.get("version") != VERSION:
        raise SecurityError(Reason.KEY_FILE, f"key file version must be {VERSION} "
                            "(one entry per key holder with explicit rights)")
    try:
        kek = bytes.fromhex(doc["kek"]) if doc.get("kek") else None
        if kek is not None and len(kek) not in (16, 24, 32):
            raise SecurityError(Reason.KEY_FILE, "KEK must be an AES key")
        holders = doc["key_holders"]
        if not isinstance(holders, list) or not holders:
            raise SecurityError(Reason.KEY_FILE, "key_holders must be a non-empty list")
        return KeyFile([_holder(e) for e in holders], kek)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SecurityError(Reason.KEY_FILE, f"malformed key file: {exc!r}") from exc


def _holder(e: dict) -> SecurityAssociation:
    name = e["name"]
    if not isinstance(name, str) or not name or len(name) > 32:
        raise SecurityError(Reason.KEY_FILE, "a key holder's name is 1..32 characters")
    r = e["rights"]
    missing = [k for k in _RIGHTS_FIELDS if k not in r]
    if missing:
        raise SecurityError(Reason.KEY_FILE, f"{name}: rights must state {', '.join(missing)}")
    unknown = set(r) - set(_RIGHTS_FIELDS) - {"functions"}
    if unknown:
        raise SecurityError(Reason.KEY_FILE, f"{name}: unknown right {sorted(unknown)[0]!r}")
    for flag in ("whole_schedule", "key_management"):
        if not isinstance(r[flag], bool):
            raise SecurityError(Reason.KEY_FILE, f"{name}: {flag} must be true or false")
    vcids = parse_ranges(r["vcids"], MAX_VCID, f"{name}: vcids")
    if vcids is None:
        raise SecurityError(Reason.KEY_FILE, f"{name}: list its data VCs explicitly")
    q = e.get("quotas")
    quotas = Quotas() if q is None else Quotas(**{k: v for k, v in q.items()})
    rights = Rights(apids=parse_ranges(r["apids"], MAX_APID, f"{name}: apids"),
                    vcids=vcids,
                    maps=parse_ranges(r["maps"], MAX_MAP_ID, f"{name}: maps"),
                    farm_control=parse_ranges(r["farm_control"], MAX_VCID,
                                              f"{name}: farm_control"),
                    whole_schedule=r["whole_schedule"], key_management=r["key_management"],
                    quotas=quotas,
                    functions=parse_functions(r.get("functions", []), f"{name}: functions"))
    for opt in ("spi", "arsn_len", "mac_len", "arsn_window"):
        if opt in e and (isinstance(e[opt], bool) or not isinstance(e[opt], int)):
            raise SecurityError(Reason.KEY_FILE, f"{name}: {opt} must be an integer")
    return SecurityAssociation(
        spi=e["spi"], owner=name, key=bytes.fromhex(e["key"]), rights=rights,
        arsn_len=e.get("arsn_len", 4), mac_len=e.get("mac_len", 16),
        arsn_window=e.get("arsn_window", 64), operational=bool(e.get("operational", True)))


def check_allocation(sas: Iterable[SecurityAssociation]) -> None:
    """The rules every key file keeps (see the module docstring)."""
    names: set[str] = set()
    spis: set[int] = set()
    vc_owner: dict[int, str] = {}
    for sa in sas:
        if sa.owner in names:
            raise SecurityError(Reason.KEY_FILE, f"key holder {sa.owner!r} listed twice")
        if sa.spi in spis:
            raise SecurityError(Reason.KEY_FILE, f"SPI {sa.spi} listed twice")
        names.add(sa.owner)
        spis.add(sa.spi)
        for v in sa.rights.vcids:
            if v in vc_owner:
                raise SecurityError(Reason.KEY_FILE,
                                    f"VC {v} is a data VC of both {vc_owner[v]} and {sa.owner}: "
                                    "each key holder sends data on its own VCs")
            vc_owner[v] = sa.owner
        maps = sa.rights.maps
        if not sa.rights.key_management and maps is not None and MANAGEMENT_MAP in maps:
            raise SecurityError(Reason.KEY_FILE, f"{sa.owner}: MAP {MANAGEMENT_MAP} carries key "
                                "management and needs key_management")


def new_key_file(holders: Iterable[tuple[str, int, Rights]], *, kek: bool = True) -> KeyFile:
    """A key file with fresh random 32-octet keys (and KEK) for `holders`,
    given as (name, SPI, rights)."""
    sas = [SecurityAssociation(spi, name, secrets.token_bytes(32), rights)
           for name, spi, rights in holders]
    return KeyFile(sas, secrets.token_bytes(32) if kek else None)


def simulator_key_file(path: str | Path | None = None) -> KeyFile:
    """For simulation only: fresh random keys for the bus operator (SPI 1,
    VC 0) and the example partners "uni-a" (SPI 10, APIDs 0x100-0x10F, VC 1)
    and "uni-b" (SPI 11, APIDs 0x110-0x11F, VC 2). Written to `path` if given."""
    kf = new_key_file(SIMULATOR_HOLDERS)
    if path is not None:
        kf.save(path)
    return kf


__all__ = ["OPERATOR_QUOTAS", "SIMULATOR_HOLDERS", "KeyFile", "Quotas", "Rights",
           "check_allocation", "load_key_file", "new_key_file", "parse_key_document",
           "simulator_key_file"]
