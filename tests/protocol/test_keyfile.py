"""The key file: one key holder per security association, explicit rights,
and the simulator's example allocation with fresh keys."""

from __future__ import annotations

import json
import stat

from fsw.protocol.keyfile import load_key_file, simulator_key_file
from fsw.protocol.sdls import MANAGEMENT_MAP


def test_simulator_key_file_allocation(tmp_path):
    path = tmp_path / "keys.json"
    made = simulator_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds secret keys
    keys = load_key_file(path)
    assert [(s.owner, s.spi) for s in keys.sas] == [("operator", 1), ("uni-a", 10),
                                                    ("uni-b", 11)]
    assert [s.key for s in keys.sas] == [s.key for s in made.sas]
    assert len({s.key for s in keys.sas} | {keys.kek}) == 4  # all different, all fresh
    op, a, b = keys.sas
    # the operator's rights are written out, not implied by its name
    doc = json.loads(path.read_text())["key_holders"][0]["rights"]
    assert doc == {"apids": "all", "vcids": [0], "maps": "all", "farm_control": "all",
                   "whole_schedule": True, "key_management": True}
    assert op.rights.may_command(0x7FE) and op.rights.may_control_farm(2)
    assert a.rights.apids == frozenset(range(0x100, 0x110))
    assert b.rights.apids == frozenset(range(0x110, 0x120))
    for partner, own_vc in ((a, 1), (b, 2)):
        r = partner.rights
        assert r.vcids == {own_vc} and r.may_control_farm(own_vc)
        assert not r.may_control_farm(0) and not r.may_send_data(0, 0)
        assert not r.whole_schedule and not r.key_management
        assert not r.may_send_data(own_vc, MANAGEMENT_MAP)
        assert not r.may_command(0x010)  # the bus operator's comms app
    # a second file has other keys
    assert simulator_key_file().sas[0].key != op.key
