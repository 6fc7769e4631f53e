"""The example partners' payload apps: the sample app on each partner's own APID.

The simulator's key file allocates APIDs 0x100-0x10F to partner "uni-a" and
0x110-0x11F to "uni-b"; the simulated fleet (`ground.sim.fleet`, `tessera sim
--radio`) flies one of these for each, so a partner session on the ground
has an app of its own to command. The reference flight configuration does
not: on a real spacecraft a partner's APIDs are the partner's, filled by
its own payload bundles. Only housekeeping is downlinked
(the sample's output stream has one APID, which belongs to the operator).
"""

from __future__ import annotations

from fsw.apps.sample.app import SampleApp
from fsw.core.ids import UNI_A_SAMPLE_APID, UNI_B_SAMPLE_APID


class UniASample(SampleApp):
    NAME = "uni_a_sample"
    APID = UNI_A_SAMPLE_APID
    TELEMETRY = ()


class UniBSample(SampleApp):
    NAME = "uni_b_sample"
    APID = UNI_B_SAMPLE_APID
    TELEMETRY = ()
