"""What one key holder may do on the uplink: its allocation and its quotas.

Every security association (SA) belongs to exactly one key holder (the bus
operator or one partner), and every right is stated in the key file: nothing
is implied by a holder's name. The rights travel with each TC the holder
sends, through segmentation, time-tagged scheduling and reboot, and are
checked when the TC is finally dispatched (see docs/space-link.md, "Key
holders and their rights").

- `apids`: the application processes (APIDs, CCSDS 133.0-B-2) the holder may
  command; None means all of them (the bus operator).
- `vcids`: the TC virtual channels (CCSDS 232.0-B) on which the holder may
  send data frames (AD and BD). A data VC belongs to one key holder only, so
  that no one can move another holder's FARM-1 (232.1-B-2).
- `maps`: the MAP IDs the holder may use on its VCs; None means all.
- `farm_control`: the VCs on which the holder may send COP-1 control
  commands (Unlock, Set V(R)); None means every VC.
- `whole_schedule`: may enable, disable and reset the whole time-based
  schedule (ECSS-E-ST-70-41C service 11) and may act on every activity;
  without it a holder acts on its own activities only.
- `key_management`: may carry SDLS key management PDUs (rekey).
- `functions`: single functions of other APIDs the holder may perform with
  TC[8,1] (ECSS-E-ST-70-41C 6.8), as (APID, function ID) pairs: how the
  operator lets a partner ask the mode manager for PAYLOAD without giving it
  the mode manager's whole APID. Optional in the key file; empty by default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from fsw.protocol.errors import Reason, SecurityError

MAX_APID = 0x7FE  # 0x7FF is the idle APID (133.0-B-2 4.1.3.3.4.4)
MAX_VCID = 63
MAX_MAP_ID = 63
KEY_MANAGEMENT_MAP = 63  # the MAP of SDLS key management PDUs (fsw.protocol.sdls)


@dataclass(frozen=True)
class Quotas:
    """Per-key-holder shares of capacity every holder draws from.

    - `schedule_slots`: activities the holder may have in the time-based
      schedule at once;
    - `event_table_entries`: entries the holder may have in the table of
      disabled event IDs (service 5);
    - `tcs_per_s`: TCs per second (token bucket holding one second's worth);
    - `tm_bytes_per_cycle`: octets of TM (verification reports and replies)
      generated in reply to the holder's TCs in one comms cycle.
    """

    schedule_slots: int = 32
    event_table_entries: int = 64
    tcs_per_s: float = 20.0
    tm_bytes_per_cycle: int = 2048

    def __post_init__(self) -> None:
        for name in ("schedule_slots", "event_table_entries", "tm_bytes_per_cycle"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1 << 20:
                raise SecurityError(Reason.KEY_FILE, f"quota {name} must be 0..{1 << 20}")
        if not 0 < float(self.tcs_per_s) <= 10_000:
            raise SecurityError(Reason.KEY_FILE, "quota tcs_per_s must be in (0, 10000]")


OPERATOR_QUOTAS = Quotas(schedule_slots=256, event_table_entries=1024, tcs_per_s=100.0,
                         tm_bytes_per_cycle=16384)


@dataclass(frozen=True)
class Rights:
    """The allocation of one key holder (see the module docstring)."""

    apids: frozenset[int] | None
    vcids: frozenset[int]
    maps: frozenset[int] | None = None
    farm_control: frozenset[int] | None = frozenset()
    whole_schedule: bool = False
    key_management: bool = False
    quotas: Quotas = field(default_factory=Quotas)
    functions: frozenset[tuple[int, int]] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "vcids", frozenset(self.vcids))
        object.__setattr__(self, "functions", frozenset(self.functions))
        if any(not (0 <= a <= MAX_APID and 0 <= f <= 255) for a, f in self.functions):
            raise SecurityError(Reason.KEY_FILE, f"functions must be (APID 0..{MAX_APID}, "
                                "function ID 0..255)")
        for name, top in (("apids", MAX_APID), ("maps", MAX_MAP_ID), ("farm_control", MAX_VCID)):
            value = getattr(self, name)
            if value is not None:
                value = frozenset(value)
                if any(not 0 <= v <= top for v in value):
                    raise SecurityError(Reason.KEY_FILE, f"{name} must lie in 0..{top}")
                object.__setattr__(self, name, value)
        if any(not 0 <= v <= MAX_VCID for v in self.vcids):
            raise SecurityError(Reason.KEY_FILE, f"vcids must lie in 0..{MAX_VCID}")

    @classmethod
    def operator(cls, vcids: Iterable[int] = (0,), quotas: Quotas = OPERATOR_QUOTAS) -> Rights:
        """The bus operator's rights: every APID, MAP and FARM, the whole schedule, rekey."""
        return cls(apids=None, vcids=frozenset(vcids), maps=None, farm_control=None,
                   whole_schedule=True, key_management=True, quotas=quotas)

    @classmethod
    def partner(cls, apids: Iterable[int], vcids: Iterable[int], maps: Iterable[int] = (0,),
                quotas: Quotas | None = None,
                functions: Iterable[tuple[int, int]] = ()) -> Rights:
        """A partner's rights: its APIDs, its own VCs (FARM control of those), its MAPs,
        and any single functions of other APIDs the operator grants it."""
        vcs = frozenset(vcids)
        return cls(apids=frozenset(apids), vcids=vcs, maps=frozenset(maps), farm_control=vcs,
                   quotas=quotas or Quotas(), functions=frozenset(functions))

    def may_command(self, apid: int) -> bool:
        return self.apids is None or apid in self.apids

    def may_perform(self, apid: int, function_id: int) -> bool:
        """May have function `function_id` of APID `apid` performed (TC[8,1])."""
        return self.may_command(apid) or (apid, function_id) in self.functions

    def may_send_data(self, vcid: int, map_id: int | None) -> bool:
        """May send AD/BD frames on `vcid` (with MAP `map_id`, if the VC has MAPs).
        MAP 63 carries key management and needs `key_management` as well."""
        if map_id == KEY_MANAGEMENT_MAP and not self.key_management:
            return False
        return vcid in self.vcids and (map_id is None or self.maps is None or map_id in self.maps)

    def may_control_farm(self, vcid: int) -> bool:
        return self.farm_control is None or vcid in self.farm_control

    def may_use_vc(self, vcid: int) -> bool:
        """May send any frame at all on `vcid` (data or control)."""
        return vcid in self.vcids or self.may_control_farm(vcid)

    def to_document(self) -> dict:
        """The `rights` object of the key file (see `fsw.protocol.keyfile`)."""
        return {
            "apids": "all" if self.apids is None else format_ranges(self.apids),
            "vcids": sorted(self.vcids),
            "maps": "all" if self.maps is None else sorted(self.maps),
            "farm_control": "all" if self.farm_control is None else sorted(self.farm_control),
            "whole_schedule": self.whole_schedule,
            "key_management": self.key_management,
            **({"functions": [f"{a:#05x}:{f}" for a, f in sorted(self.functions)]}
               if self.functions else {}),
        }


_RANGE = re.compile(r"^\s*(0x[0-9a-fA-F]+|\d+)\s*(?:-\s*(0x[0-9a-fA-F]+|\d+)\s*)?$")


def parse_functions(spec: object, what: str) -> frozenset[tuple[int, int]]:
    """`["0x012:11", ...]`: (APID, function ID) pairs."""
    if not isinstance(spec, list):
        raise SecurityError(Reason.KEY_FILE, f"{what} must be a list of \"APID:function\"")
    out = set()
    for item in spec:
        m = re.fullmatch(r"\s*(0x[0-9a-fA-F]+|\d+)\s*:\s*(\d+)\s*", str(item))
        if not isinstance(item, str) or m is None:
            raise SecurityError(Reason.KEY_FILE, f"{what}: {item!r} is not \"APID:function\"")
        out.add((int(m.group(1), 0), int(m.group(2))))
    return frozenset(out)


def parse_ranges(spec: object, top: int, what: str) -> frozenset[int] | None:
    """`"all"` -> None; otherwise a list whose items are integers, `[low, high]`
    pairs or strings `"0x100-0x10F"` / `"0x100"` (inclusive ranges)."""
    if spec == "all":
        return None
    if not isinstance(spec, list):
        raise SecurityError(Reason.KEY_FILE, f"{what} must be \"all\" or a list")
    out: set[int] = set()
    for item in spec:
        if isinstance(item, bool):
            raise SecurityError(Reason.KEY_FILE, f"{what}: {item!r} is not a number")
        if isinstance(item, int):
            low = high = item
        elif isinstance(item, list) and len(item) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in item):
            low, high = item
        elif isinstance(item, str) and (m := _RANGE.match(item)):
            low = int(m.group(1), 0)
            high = int(m.group(2), 0) if m.group(2) else low
        else:
            raise SecurityError(Reason.KEY_FILE, f"{what}: cannot read {item!r}")
        if not 0 <= low <= high <= top:
            raise SecurityError(Reason.KEY_FILE, f"{what}: range {item!r} outside 0..{top}")
        out.update(range(low, high + 1))
    return frozenset(out)


def format_ranges(values: Iterable[int]) -> list[str]:
    """Inclusive ranges as the key file writes them, e.g. ["0x100-0x10F"]."""
    out: list[str] = []
    run: list[int] = []
    for v in sorted(values):
        if run and v == run[-1] + 1:
            run.append(v)
            continue
        if run:
            out.append(_fmt_run(run))
        run = [v]
    if run:
        out.append(_fmt_run(run))
    return out


def _fmt_run(run: list[int]) -> str:
    return f"{run[0]:#05x}" if len(run) == 1 else f"{run[0]:#05x}-{run[-1]:#05x}"
