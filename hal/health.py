"""Per-driver health counters.

Drivers stay independent of the software bus: each keeps a `Health` object
and the owning app publishes `health.snapshot()` in its housekeeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hal import HalError

__all__ = ["ERROR_KINDS", "Health"]

#: Every `HalError.kind` a driver can count, in a fixed order for telemetry.
ERROR_KINDS = ("nack", "timeout", "busy", "device_id", "checksum", "data", "rejected", "hal")


@dataclass
class Health:
    """Counters of one device's traffic since boot.

    transactions: bus transactions attempted (retries included).
    retries:      transactions repeated after a transient failure.
    errors:       failures by `HalError.kind` (every attempt that failed).
    failures:     driver operations that gave up and raised to the caller.
    recoveries:   times the driver found the part reset and reconfigured it.
    last_error:   text of the most recent error, or "".
    """

    transactions: int = 0
    retries: int = 0
    failures: int = 0
    recoveries: int = 0
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ERROR_KINDS, 0))
    last_error: str = ""

    def record(self, exc: HalError) -> None:
        """Count one failed attempt."""
        kind = exc.kind if exc.kind in self.errors else "hal"
        self.errors[kind] += 1
        self.last_error = str(exc)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def snapshot(self) -> dict[str, object]:
        """A plain dict copy, safe to hand to telemetry."""
        return {"transactions": self.transactions, "retries": self.retries,
                "failures": self.failures, "recoveries": self.recoveries,
                "errors": dict(self.errors),
                "last_error": self.last_error}
