"""Authentication of TC frames in the manner of the Space Data Link Security
protocol, CCSDS 355.0-B-2 (authentication-only service).

Frame layout on an authenticated virtual channel (355.0-B-2 4.1.1, 4.1.2):

    primary header (5) | [segment header (1)] | SPI (2) | ARSN (arsn_len) |
    frame data | MAC (mac_len) | FECF (2)

There is no IV (authentication only, HMAC) and no pad length. The MAC is
HMAC-SHA-256 (FIPS 198-1) truncated to its leftmost `mac_len` octets
(RFC 4868 / 355.0-B-2 4.2.2.3), computed over the primary header ANDed with
the SA's authentication bit mask, the segment header, the security header
and the frame data; it excludes the MAC and the FECF. Comparison is in
constant time. Anti-replay (355.0-B-2 4.2.2.2.6): the ARSN must lie in
(stored, stored + window]; the stored value is the last accepted one and is
committed durably before the frame is handed on.

Security associations are listed in a JSON key file, one per key holder
with its rights (see `fsw.protocol.keyfile` and `fsw.protocol.rights`).
A rekey PDU, accepted only on a management SA (cf. the SDLS Extended
Procedures key management, 355.1-B, and the lesson of CVE-2025-46675),
carries a new key wrapped with AES key wrap (RFC 3394) under the
key-encryption key from the key file.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from fsw.protocol.errors import Reason, SecurityError
from fsw.protocol.rights import KEY_MANAGEMENT_MAP, Rights
from fsw.protocol.store import ArsnStore

SPI_LEN = 2
DEFAULT_ABM = b"\xff" * 6  # authenticate every header bit
REKEY_TAG = 0x01
MANAGEMENT_MAP = KEY_MANAGEMENT_MAP  # MAP ID that carries security management PDUs
_REKEY = struct.Struct(">BHI")
WRAPPED_KEY_LEN = 40  # RFC 3394 wrap of a 32-octet key


@dataclass
class SecurityAssociation:
    """One SA: one key, held by the bus operator or by one partner, with that
    key holder's rights."""

    spi: int
    owner: str
    key: bytes
    rights: Rights
    arsn_len: int = 4
    mac_len: int = 16
    arsn_window: int = 64
    operational: bool = True
    key_generation: int = 0
    abm: bytes = DEFAULT_ABM

    def __post_init__(self) -> None:
        if not 1 <= self.spi <= 0xFFFE:
            raise SecurityError(Reason.KEY_FILE, f"SPI {self.spi} (0 and 0xFFFF are reserved)")
        if len(self.key) < 16:
            raise SecurityError(Reason.KEY_FILE, f"SA {self.spi}: key shorter than 16 octets")
        if not 1 <= self.arsn_len <= 8:
            raise SecurityError(Reason.KEY_FILE, f"SA {self.spi}: ARSN length")
        if not 8 <= self.mac_len <= 32:
            raise SecurityError(Reason.KEY_FILE, f"SA {self.spi}: MAC length")
        if not 1 <= self.arsn_window <= 1 << 16:
            raise SecurityError(Reason.KEY_FILE, f"SA {self.spi}: ARSN window")
        if len(self.abm) != 6:
            raise SecurityError(Reason.KEY_FILE, f"SA {self.spi}: ABM must be 6 octets")

    def may_command(self, apid: int) -> bool:
        return self.rights.may_command(apid)

    @property
    def arsn_max(self) -> int:
        return (1 << (8 * self.arsn_len)) - 1

    def overhead(self) -> int:
        """Octets the security header and trailer add to a frame."""
        return SPI_LEN + self.arsn_len + self.mac_len


def compute_mac(sa: SecurityAssociation, authenticated: bytes | memoryview,
                header_len: int) -> bytes:
    """Truncated HMAC-SHA-256 of `authenticated` (frame up to the MAC), with the
    first `header_len` octets masked by the SA's ABM."""
    if sa.abm == DEFAULT_ABM:  # every header bit authenticated: nothing to mask
        return hmac.digest(sa.key, authenticated, "sha256")[: sa.mac_len]
    masked = bytes(b & m for b, m in zip(authenticated[:header_len], sa.abm, strict=False))
    h = hmac.new(sa.key, masked, hashlib.sha256)
    h.update(authenticated[header_len:])
    return h.digest()[: sa.mac_len]


@dataclass
class Verified:
    """A frame that passed authentication and the anti-replay check, not yet committed."""

    sa: SecurityAssociation
    arsn: int
    data: bytes  # the frame data between security header and trailer
    fresh: bool = True  # False: authentic, but its ARSN was already used (see verify)


@dataclass
class SecurityStats:
    accepted: int = 0
    rejected: dict[Reason, int] = field(default_factory=dict)


class SecurityEngine:
    """The flight side: a table of SAs, verification, durable anti-replay, rekey."""

    def __init__(self, sas: Iterable[SecurityAssociation], store: ArsnStore,
                 kek: bytes | None = None) -> None:
        self.sas: dict[int, SecurityAssociation] = {}
        for sa in sas:
            if sa.spi in self.sas:
                raise SecurityError(Reason.KEY_FILE, f"SPI {sa.spi} listed twice")
            self.sas[sa.spi] = sa
        self.store = store
        self.kek = kek
        self._pending: dict[int, int] = {}  # accepted ARSNs not yet durable (batches)
        for spi, (gen, wrapped) in store.rekeyed().items():
            sa = self.sas.get(spi)
            if sa is not None and gen > sa.key_generation and kek is not None:
                sa.key = _unwrap(kek, wrapped)
                sa.key_generation = gen

    def verify(self, frame: bytes | memoryview, header_len: int, vcid: int,
               stale_ok: bool = False) -> Verified:
        """Check SPI, MAC and ARSN of a frame (FECF already removed).

        `header_len` is the primary header plus segment header, if any. Nothing
        is committed: call `commit` once the frame is accepted. With
        `stale_ok` an authentic frame whose ARSN was already used comes back
        with `fresh` False instead of raising REPLAY, so that the caller can
        tell a COP-1 retransmission of an accepted AD frame (a FARM-1
        duplicate) from a replay; such a frame must never be accepted.
        """
        n = len(frame)
        if n < header_len + SPI_LEN:
            raise SecurityError(Reason.TRUNCATED, "no room for a security header")
        spi = (frame[header_len] << 8) | frame[header_len + 1]
        sa = self.sas.get(spi)
        if sa is None:
            raise SecurityError(Reason.UNKNOWN_SPI, f"SPI {spi}")
        if not sa.operational:
            raise SecurityError(Reason.SA_NOT_OPERATIONAL, f"SPI {spi}")
        if not sa.rights.may_use_vc(vcid):
            raise SecurityError(Reason.SA_WRONG_VC, f"SPI {spi} is not used on VC {vcid}")
        sn_end = header_len + SPI_LEN + sa.arsn_len
        mac_start = n - sa.mac_len
        if mac_start < sn_end:
            raise SecurityError(Reason.TRUNCATED, "frame shorter than security header + MAC")
        mac = compute_mac(sa, frame[:mac_start], header_len)
        if not hmac.compare_digest(mac, bytes(frame[mac_start:])):
            raise SecurityError(Reason.BAD_MAC, f"SPI {spi}")
        arsn = int.from_bytes(frame[header_len + SPI_LEN:sn_end], "big")
        last = self.last_accepted(spi)
        if arsn <= last:
            if stale_ok:
                return Verified(sa, arsn, b"", fresh=False)
            raise SecurityError(Reason.REPLAY, f"SPI {spi}: ARSN {arsn}, last accepted {last}")
        if arsn > last + sa.arsn_window:
            raise SecurityError(Reason.ARSN_OUT_OF_WINDOW,
                                f"SPI {spi}: ARSN {arsn} beyond {last} + {sa.arsn_window}")
        return Verified(sa, arsn, bytes(frame[sn_end:mac_start]))

    def last_accepted(self, spi: int) -> int:
        """The last ARSN accepted on `spi` (durable or pending in a batch)."""
        stored = self.store.get(spi)[0]
        return max(stored, self._pending.get(spi, stored))

    def commit(self, v: Verified, durable: bool = True) -> None:
        """Record the ARSN of an accepted frame. With `durable` (the default) it
        is on disk when this returns; otherwise it is held until `flush()`,
        which must happen before any frame of the batch is acted on."""
        if not v.fresh or v.arsn <= self.last_accepted(v.sa.spi):
            raise SecurityError(Reason.REPLAY, "ARSN already used")
        if durable:
            self.store.set_arsn(v.sa.spi, v.arsn)
            self._pending.pop(v.sa.spi, None)
        else:
            self._pending[v.sa.spi] = v.arsn

    def flush(self) -> None:
        """Make every pending ARSN durable, in one commit."""
        if self._pending:
            self.store.set_many(self._pending)
            self._pending.clear()

    def rekey(self, pdu: bytes, via: SecurityAssociation) -> int:
        """Apply a rekey PDU received on SA `via`; return the SPI rekeyed."""
        if not via.rights.key_management:
            raise SecurityError(Reason.EP_WRONG_SA,
                                f"key management PDU on SA {via.spi}, not a management SA")
        target, gen, wrapped = parse_rekey(pdu)
        sa = self.sas.get(target)
        if sa is None:
            raise SecurityError(Reason.UNKNOWN_SPI, f"rekey of SPI {target}")
        if gen <= sa.key_generation:
            raise SecurityError(Reason.BAD_KEY, f"key generation {gen} is not newer")
        if self.kek is None:
            raise SecurityError(Reason.BAD_KEY, "no key-encryption key configured")
        key = _unwrap(self.kek, wrapped)
        self.flush()
        self.store.rekey(target, gen, wrapped)
        sa.key = key
        sa.key_generation = gen
        return target


class SecuritySender:
    """The ground side: adds security header and MAC with the next ARSN.

    The ARSN is committed to the store before the frame leaves, so a ground
    restart never reuses a sequence number.
    """

    def __init__(self, sa: SecurityAssociation, store: ArsnStore) -> None:
        self.sa = sa
        self.store = store

    def protect(self, header: bytes, data: bytes) -> bytes:
        """`header` (primary + segment header, frame length already final) plus
        security header, `data` and MAC."""
        sa = self.sa
        arsn = self.store.get(sa.spi)[0] + 1
        if arsn > sa.arsn_max:
            raise SecurityError(Reason.ARSN_OUT_OF_WINDOW, "ARSN exhausted: rekey the SA")
        self.store.set_arsn(sa.spi, arsn)
        body = header + sa.spi.to_bytes(2, "big") + arsn.to_bytes(sa.arsn_len, "big") + data
        return body + compute_mac(sa, body, len(header))

    def rekeyed(self, key: bytes, generation: int) -> None:
        """After the spacecraft applied a rekey: use the new key, ARSN from 0."""
        self.sa.key = key
        self.sa.key_generation = generation
        self.store.rekey(self.sa.spi, generation, b"")


# --- rekey PDU -----------------------------------------------------------------

def build_rekey(kek: bytes, target_spi: int, generation: int, new_key: bytes) -> bytes:
    """Rekey PDU: tag 0x01 | target SPI (16) | key generation (32) | wrapped key (40)."""
    if len(new_key) != 32:
        raise SecurityError(Reason.BAD_KEY, "new keys are 32 octets")
    return _REKEY.pack(REKEY_TAG, target_spi, generation) + aes_key_wrap(kek, new_key)


def parse_rekey(pdu: bytes) -> tuple[int, int, bytes]:
    if len(pdu) != _REKEY.size + WRAPPED_KEY_LEN:
        raise SecurityError(Reason.LENGTH_MISMATCH, f"rekey PDU of {len(pdu)} octets")
    tag, spi, gen = _REKEY.unpack_from(pdu)
    if tag != REKEY_TAG:
        raise SecurityError(Reason.BAD_DIRECTIVE, f"security PDU tag {tag}")
    return spi, gen, bytes(pdu[_REKEY.size:])


def _unwrap(kek: bytes, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(kek, wrapped)
    except (InvalidUnwrap, ValueError) as exc:
        raise SecurityError(Reason.BAD_KEY, "wrapped key does not unwrap") from exc
