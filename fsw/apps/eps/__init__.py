"""The EPS app: battery state of charge, output switching, load shedding, latch-ups."""

from fsw.apps.eps.app import EpsApp, validate_shedding

__all__ = ["EpsApp", "validate_shedding"]
