"""GNSS app: polls the GPS receiver and reports its fix."""

from fsw.apps.gnss.app import GnssApp

__all__ = ["GnssApp"]
