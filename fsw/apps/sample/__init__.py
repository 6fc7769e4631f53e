"""The sample app: the shape every Tessera app follows. Copy it to start one."""

from fsw.apps.sample.app import SampleApp

__all__ = ["SampleApp"]
