"""Comms app: authenticated TC uplink in, PUS services, TM frames out."""

from fsw.apps.comms.app import LINK_FAILURE_BASE, CommsApp

__all__ = ["LINK_FAILURE_BASE", "CommsApp"]
