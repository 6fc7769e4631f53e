"""The payload host: partner apps installed, sandboxed, bridged, supervised."""

from fsw.apps.payload_host.app import PayloadHostApp

__all__ = ["PayloadHostApp"]
