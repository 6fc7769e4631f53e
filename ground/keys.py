"""The ground's view of the key file: the key holder a session speaks as.

A session holds one role: the name of one key holder in the key file
(`fsw.protocol.keyfile`: the bus operator or a partner). It signs with that
holder's security association and is held, before anything is sent, to the
same rights the spacecraft enforces: the APIDs it may command and the TC
virtual channel it owns. A holder allowed every APID (the bus operator) sees
all telemetry; a partner sees only its own APIDs' packets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fsw.protocol.errors import ProtocolError
from fsw.protocol.keyfile import load_key_file
from fsw.protocol.sdls import SecurityAssociation


class KeyFileError(ValueError):
    """A key file or role the ground cannot use; one line."""


@dataclass(frozen=True)
class KeyHolder:
    name: str
    sa: SecurityAssociation
    tc_vcid: int
    apids: frozenset[int] | None
    """APIDs the holder may command and see; None: all (the bus operator)."""

    @property
    def sees_all(self) -> bool:
        return self.apids is None

    def may_command(self, apid: int) -> bool:
        return self.sa.rights.may_command(apid)


def load_holder(key_file: str | Path, role: str) -> KeyHolder:
    """The key holder named `role` in `key_file`, or KeyFileError naming the choices."""
    try:
        keys = load_key_file(key_file)
    except (OSError, ProtocolError, ValueError) as exc:
        raise KeyFileError(f"key file {key_file}: {exc}") from None
    try:
        sa = keys.by_name(role)
    except KeyError:
        names = ", ".join(sorted(sa.owner for sa in keys.sas))
        raise KeyFileError(f"key file {key_file} has no key holder {role!r} "
                           f"(it has {names})") from None
    if not sa.rights.vcids:
        raise KeyFileError(f"key holder {role!r} has no TC virtual channel to send on")
    return KeyHolder(role, sa, min(sa.rights.vcids), sa.rights.apids)
