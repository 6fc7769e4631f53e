"""The table services app: load, validate, activate, roll back and report tables."""

from fsw.apps.tables.app import TABLE_REPORT, TablesApp, encode_load

__all__ = ["TABLE_REPORT", "TablesApp", "encode_load"]
