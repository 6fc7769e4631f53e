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
        if not 1 <= self.coarse_octets <= 4 or not 0 <= self.fine_octets <= 3:
            raise PacketError(Reason.FIELD_RANGE, "CUC octet counts")
        if not 0 <= self.coarse < 1 << (8 * self.coarse_octets):
            raise PacketError(Reason.FIELD_RANGE, "CUC coarse time")
        if not 0 <= self.fine < 1 << (8 * self.fine_octets):
            raise PacketError(Reason.FIELD_RANGE, "CUC fine time")
        if self.epoch_code not in (TAI_1958, AGENCY_EPOCH):
            raise PacketError(Reason.FIELD_RANGE, "CUC time code id")

    @classmethod
    def from_seconds(cls, seconds: float, coarse_octets: int = 4, fine_octets: int = 2,
                     epoch_code: int = AGENCY_EPOCH) -> CucTime:
        """Time `seconds` after the epoch, rounded down to the fine resolution."""
        if seconds != seconds or seconds < 0:
            raise PacketError(Reason.BAD_TIME, "negative or NaN time")
        scale = 1 << (8 * fine_octets)
        ticks = int(seconds * scale)
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
        return (self.epoch_code << 4) | ((self.coarse_octets - 1) << 2) | self.fine_octets

    def encode(self, with_p_field: bool = True) -> bytes:
        """T-field, preceded by the P-field when `with_p_field`."""
        t = ((self.coarse << (8 * self.fine_octets)) | self.fine).to_bytes(self.length, "big")
        return bytes((self.p_field(),)) + t if with_p_field else t

    @classmethod
    def decode(cls, data: bytes, *, coarse_octets: int | None = None, fine_octets: int = 2,
               epoch_code: int = AGENCY_EPOCH) -> CucTime:
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
