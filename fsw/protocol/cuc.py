"""CCSDS Unsegmented time Code (CUC), CCSDS 301.0-B-4 section 3.2.

The T-field is `coarse_octets` of whole seconds followed by `fine_octets` of
binary fraction of a second (unit 2**-(8*fine_octets) s). The optional
one-octet P-field says: extension flag (1 bit, must be 0 here), time code id
(3 bits: 001 = epoch 1958-01-01 TAI, 010 = agency-defined epoch), coarse
octets - 1 (2 bits), fine octets (2 bits). Tessera counts mission time from
the clock's epoch, so it uses the agency-defined epoch (010) by default.
"""

from __future__ import annotations

from dataclasses import dataclass

from fsw.protocol.errors import PacketError, Reason

TAI_1958 = 0b001
AGENCY_EPOCH = 0b010


@dataclass(frozen=True, slots=True)
class CucTime:
    """A CUC time: `coarse` seconds plus `fine` / 2**(8*fine_octets) seconds."""

    coarse: int
    fine: int = 0
    coarse_octets: int = 4
    fine_octets: int = 2
    epoch_code: int = AGENCY_EPOCH

    def __post_init__(self) -> None:
        _check_octets(self.coarse_octets, self.fine_octets)
        if not 0 <= self.coarse < 1 << (8 * self.coarse_octets):
            raise PacketError(Reason.FIELD_RANGE, "CUC coarse time")
        if not 0 <= self.fine < 1 << (8 * self.fine_octets):
            raise PacketError(Reason.FIELD_RANGE, "CUC fine time")
        _check_epoch(self.epoch_code)

    @classmethod
    def from_seconds(cls, seconds: float, coarse_octets: int = 4, fine_octets: int = 2,
                     epoch_code: int = AGENCY_EPOCH) -> CucTime:
        """Time `seconds` after the epoch, rounded down to the fine resolution."""
        ticks = _ticks(seconds, fine_octets)
        scale = 1 << (8 * fine_octets)
        return cls(ticks // scale, ticks % scale, coarse_octets, fine_octets, epoch_code)

    @property
    def seconds(self) -> float:
        """Seconds after the epoch."""
        return self.coarse + self.fine / (1 << (8 * self.fine_octets))

    @property
    def length(self) -> int:
        """Octets of the T-field (without P-field)."""
        return self.coarse_octets + self.fine_octets

    def p_field(self) -> int:
        return _p_field(self.coarse_octets, self.fine_octets, self.epoch_code)

    def encode(self, with_p_field: bool = True) -> bytes:
        """T-field, preceded by the P-field when `with_p_field`."""
        t = ((self.coarse << (8 * self.fine_octets)) | self.fine).to_bytes(self.length, "big")
        return bytes((self.p_field(),)) + t if with_p_field else t

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview, *, coarse_octets: int | None = None,
               fine_octets: int = 2, epoch_code: int = AGENCY_EPOCH) -> CucTime:
        """Decode exactly one CUC time.

        With `coarse_octets=None` the first octet is a P-field that gives the
        format; otherwise the format is implicit (no P-field) and given here.
        """
        data = bytes(data)
        if coarse_octets is None:
            if not data:
                raise PacketError(Reason.TRUNCATED, "CUC P-field missing")
            p = data[0]
            if p & 0x80:
                raise PacketError(Reason.FIELD_RANGE, "CUC P-field extension not supported")
            epoch_code = (p >> 4) & 0x7
            if epoch_code not in (TAI_1958, AGENCY_EPOCH):
                raise PacketError(Reason.FIELD_RANGE, f"CUC time code id {epoch_code}")
            coarse_octets = ((p >> 2) & 0x3) + 1
            fine_octets = p & 0x3
            data = data[1:]
        n = coarse_octets + fine_octets
        if len(data) != n:
            raise PacketError(Reason.LENGTH_MISMATCH if len(data) > n else Reason.TRUNCATED,
                              f"CUC T-field is {len(data)} octets, expected {n}")
        value = int.from_bytes(data, "big")
        fine_bits = 8 * fine_octets
        return cls(value >> fine_bits, value & ((1 << fine_bits) - 1), coarse_octets,
                   fine_octets, epoch_code)


def encode_seconds(seconds: float, coarse_octets: int = 4, fine_octets: int = 2,
                   epoch_code: int = AGENCY_EPOCH) -> bytes:
    """P-field and T-field of the time `seconds` after the epoch: the octets of
    ``CucTime.from_seconds(seconds, ...).encode()``, with the same checks, for
    a caller that needs only the octets (the downlink time-stamps every TM
    packet)."""
    ticks = _ticks(seconds, fine_octets)
    _check_octets(coarse_octets, fine_octets)
    t_bits = 8 * (coarse_octets + fine_octets)
    if ticks >> t_bits:
        raise PacketError(Reason.FIELD_RANGE, "CUC coarse time")
    _check_epoch(epoch_code)
    # the P-field is the octet above the T-field: one integer to octets, not two
    # joined (the downlink stamps every packet)
    return (_p_field(coarse_octets, fine_octets, epoch_code) << t_bits | ticks).to_bytes(
        coarse_octets + fine_octets + 1, "big")


def _check_octets(coarse_octets: int, fine_octets: int) -> None:
    if not 1 <= coarse_octets <= 4 or not 0 <= fine_octets <= 3:
        raise PacketError(Reason.FIELD_RANGE, "CUC octet counts")


def _check_epoch(epoch_code: int) -> None:
    if epoch_code not in (TAI_1958, AGENCY_EPOCH):
        raise PacketError(Reason.FIELD_RANGE, "CUC time code id")


def _ticks(seconds: float, fine_octets: int) -> int:
    """Whole units of 2**-(8*fine_octets) s in `seconds`, rounded down."""
    if seconds != seconds or seconds < 0:
        raise PacketError(Reason.BAD_TIME, "negative or NaN time")
    return int(seconds * (1 << (8 * fine_octets)))


def _p_field(coarse_octets: int, fine_octets: int, epoch_code: int) -> int:
    """CCSDS 301.0-B-4 3.2.2: extension 0, time code id, octet counts."""
    return (epoch_code << 4) | ((coarse_octets - 1) << 2) | fine_octets
