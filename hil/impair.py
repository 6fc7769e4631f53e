"""Link impairment: random bit errors and lost frames, seeded and counted.

Bit errors are independent with probability `ber` per bit (a binary
symmetric channel); a whole frame is lost with probability `frame_loss`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Impairment"]


class Impairment:
    def __init__(self, *, ber: float = 0.0, frame_loss: float = 0.0, seed: int = 0) -> None:
        if not 0.0 <= ber < 1.0 or not 0.0 <= frame_loss < 1.0:
            raise ValueError("ber and frame_loss must be in [0, 1)")
        self.ber = ber
        self.frame_loss = frame_loss
        self.rng = np.random.default_rng(seed)

    def corrupt(self, data: bytes) -> tuple[bytes, int]:
        """`data` with bit errors, and how many bits were flipped."""
        if not self.ber or not data:
            return data, 0
        flips = int(self.rng.binomial(len(data) * 8, self.ber))
        if not flips:
            return data, 0
        out = bytearray(data)
        for bit in self.rng.integers(0, len(data) * 8, size=flips):
            out[bit >> 3] ^= 1 << (bit & 7)
        return bytes(out), flips

    def lose_frame(self) -> bool:
        return bool(self.frame_loss) and self.rng.random() < self.frame_loss
