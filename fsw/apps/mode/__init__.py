"""The mode manager: SAFE, NOMINAL and PAYLOAD, autonomous safing and recovery."""

from fsw.apps.mode.app import BEACON, Mode, ModeManagerApp, SafeCause

__all__ = ["BEACON", "Mode", "ModeManagerApp", "SafeCause"]
