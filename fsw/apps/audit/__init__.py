"""The audit app: the append-only on-board record of payload app actions."""

from fsw.apps.audit.app import AuditApp

__all__ = ["AuditApp"]
