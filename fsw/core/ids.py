"""APID allocation on the Tessera bus: every APID, and so every message id, named once.

A message id is the APID under the CCSDS packet-type and secondary-header
bits (`fsw.core.message.tm_msg_id` / `cmd_msg_id`), so each telemetry stream
of its own needs an APID of its own: an app's commands and housekeeping use
its app APID, and every further stream it publishes is named here, never
computed as "APID + 1". A test fails when two names share a value or when a
flight app registers a message id whose APID is not named here.

The core reserves 0x000-0x00F, core flight apps use 0x010-0x0FF, and partner
payload apps are allocated ranges from 0x100 upwards by the bus operator.
"""

# -- core (0x000-0x00F) --------------------------------------------------------
EXECUTIVE_APID = 0x001
EVENT_APID = 0x002
COMMAND_RESULT_APID = 0x003
PARAMETER_REPORT_APID = 0x004
APP_HEARTBEAT_APID = 0x008
"""Every app's completed-cycle count, for the health app's software watchdog."""
TABLE_REPORT_APID = 0x009
"""What one table holds, on request."""

# -- core flight apps (0x010-0x0FF) ----------------------------------------------
COMMS_APID = 0x010
SCHEDULER_APID = 0x011
MODE_APID = 0x012
FDIR_APID = 0x013
TABLES_APID = 0x014
PAYLOAD_HOST_APID = 0x015
FILE_TRANSFER_APID = 0x016
AUDIT_APID = 0x017
AUDIT_RECORD_APID = 0x018
"""Audit log records, one packet per record, for every partner."""
FILE_PDU_APID = 0x019
"""CFDP PDUs from the spacecraft's file transfer entity to the ground."""
RELEASED_TC_APID = 0x01A
"""A TC the scheduler released, with its owner's SPI, for the comms app to authorise and run."""
SCHEDULE_REPORT_APID = 0x01B
"""The scheduler's summary of one key holder's activities, for the comms app to downlink."""
BEACON_APID = 0x01C
"""The mode manager's beacon, sent while in SAFE."""
ADCS_APID = 0x020
EPS_APID = 0x021
ADCS_STATE_APID = 0x022
"""ADCS state, every control cycle."""
ADCS_DEVICE_HEALTH_APID = 0x023
"""Health counters of each ADCS driver, every housekeeping cycle."""
GNSS_APID = 0x028
"""GNSS app: the GPS receiver's fix (housekeeping)."""
SAMPLE_APID = 0x030
SAMPLE_OUTPUT_APID = 0x031
"""The sample app's output, every cycle."""

# -- partner payload apps (0x100-0x7FE) ------------------------------------------
PARTNER_APID_BASE = 0x100
# The example partners of the simulator's key file: "uni-a" holds 0x100-0x10F and
# "uni-b" 0x110-0x11F; each flies the sample app as its payload.
UNI_A_SAMPLE_APID = 0x100
UNI_B_SAMPLE_APID = 0x110


def named_apids() -> dict[str, int]:
    """Every APID named in this module, by name."""
    return {name: value for name, value in globals().items()
            if name.endswith("_APID") and isinstance(value, int)}
