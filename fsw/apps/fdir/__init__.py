"""The FDIR and health app: declared limit monitors, heartbeats, the hardware watchdog."""

from fsw.apps.fdir.app import FdirApp, Monitor

__all__ = ["FdirApp", "Monitor"]
