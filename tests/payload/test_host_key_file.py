"""The space-link key file decides which APIDs a partner's app may have.

docs/payload.md (Allocations): given the space-link key file (host option
`key_file`, the file the comms app loads), the host requires each app's command
APID to be one its partner's key may command; the key file stays the one
authority on command rights. Here an allocation too generous by mistake (uni-a
given 0x100-0x11F, uni-b none) meets the simulator key file, which lets uni-a's key command
0x100-0x10F only (fsw.protocol.keyfile.simulator_key_file): an app of uni-a at
0x115 is refused on board, one at 0x100 is installed.
"""

from __future__ import annotations

import sys

import pytest

from fsw.protocol.keyfile import simulator_key_file
from ground.payload import OPERATOR_ALLOCATIONS, PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")


def test_an_app_at_an_apid_its_partners_key_may_not_command_is_refused(tmp_path):
    alloc = tmp_path / "partners.toml"
    operator = OPERATOR_ALLOCATIONS.read_text()
    alloc.write_text(operator[:operator.index("[partners.uni-b]")].replace(
        "apids = [0x100, 0x10F]", "apids = [0x100, 0x11F]", 1))
    keys = tmp_path / "keys.json"
    simulator_key_file(keys)
    with PartnerSim(make_project(tmp_path, "inside"), allocations=alloc,
                    host_config={"key_file": str(keys)}) as sim:
        wide = sim.upload(make_project(tmp_path, "wide", apid=0x115))
        installed = sim.install(wide)
        texts = [e.text for e in sim.events_of() if e.apid == 0x015]
        apps = set(sim.host.registry["apps"])
    assert not installed
    assert any(t.startswith(f"bundle {wide} refused: ") and
               "APID 0x115 is not one uni-a may command (key file)" in t for t in texts), texts
    assert apps == {"inside"}
