"""APID allocation on the Tessera bus.

The core reserves 0x000-0x00F, core flight apps use 0x010-0x0FF, and partner
payload apps are allocated ranges from 0x100 upwards by the bus operator.
"""

EXECUTIVE_APID = 0x001
EVENT_APID = 0x002
COMMAND_RESULT_APID = 0x003
PARAMETER_REPORT_APID = 0x004

COMMS_APID = 0x010
SCHEDULER_APID = 0x011
ADCS_APID = 0x020
EPS_APID = 0x021
GNSS_APID = 0x028   # ADCS telemetry takes 0x020-0x022
SAMPLE_APID = 0x030

PARTNER_APID_BASE = 0x100
