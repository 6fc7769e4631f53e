"""Scripted operations: `tessera ground run PROCEDURE.py`.

A procedure is a Python file run with these names defined (and nothing to
import):

- ``send("APP.COMMAND", arg=value, ...)``: a checked PUS TC[8,1]; returns its
  `TcRecord`. ``ping("APP")``, ``set_parameter("APP.PARAM", value)``,
  ``get_parameter("APP.PARAM")`` and ``schedule(at_s, "APP.COMMAND", ...)``
  (time-tagged, on-board seconds) likewise;
- ``verify(record, timeout_s=30)``: wait for the TC's completion; raises
  `ProcedureFailed` naming the stage and reason if it failed or timed out;
- ``expect_refused(callable, *args, **kw)``: the ground refuses the TC
  before sending it (returns the reason);
- ``wait_for("APP.PACKET.PARAM", predicate, timeout_s=30)``: wait until a
  new sample of the parameter satisfies ``predicate(value)`` (any new
  sample when None); returns the value;
- ``tm("APP.PACKET.PARAM")``: the latest engineering value (None if none);
- ``upload_file(path, name=None, install=False, start=False)``: send a file
  (a partner bundle) to the spacecraft by CFDP class 2, across passes until
  it is delivered (`ground.file_transfer.upload_file`); with ``install`` the
  payload host then installs it (INSTALL), with ``start`` it also starts the
  bundle's app (START); returns the `UploadResult`;
- ``onboard_time()``: the newest on-board time seen (s), ``log(text)``,
  ``sleep(s)``, ``spacecraft`` (the spacecraft names), ``session``.

Every function takes ``spacecraft="name"`` for a fleet (default: the first).
The run fails (exit status 1, one line) on ProcedureFailed or an assertion.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ground.session import CommandRefusedError, Session
from ground.verification import TcRecord


class ProcedureFailed(AssertionError):  # noqa: N818 - reads as what happened
    """A procedure step that did not go as required; one line."""


class ProcedureApi:
    """The functions a procedure calls (see the module docstring)."""

    def __init__(self, session: Session, log: Callable[[str], None] = print,
                 ready_timeout_s: float = 60.0) -> None:
        self.session = session
        self._log = log
        self.ready_timeout_s = ready_timeout_s

    def _ready(self, spacecraft: str | None) -> None:
        if not self.session.wait_ready(self.ready_timeout_s, spacecraft):
            name = self.session.spacecraft(spacecraft).config.name
            raise ProcedureFailed(f"{name}: no pass (no CLCW) within "
                                  f"{self.ready_timeout_s:g} s")

    def send(self, command: str, spacecraft: str | None = None, **args: Any) -> TcRecord:
        self._ready(spacecraft)
        rec = self.session.command(command, args, spacecraft)
        self._log(f"sent {rec.text} [{rec.request_id:#010x}]")
        return rec

    def ping(self, app: str, spacecraft: str | None = None) -> TcRecord:
        self._ready(spacecraft)
        return self.session.ping(app, spacecraft)

    def set_parameter(self, name: str, value: float, spacecraft: str | None = None) -> TcRecord:
        self._ready(spacecraft)
        return self.session.set_parameter(name, value, spacecraft)

    def get_parameter(self, name: str, spacecraft: str | None = None) -> TcRecord:
        self._ready(spacecraft)
        return self.session.get_parameter(name, spacecraft)

    def schedule(self, at_s: float, command: str, spacecraft: str | None = None,
                 **args: Any) -> TcRecord:
        """Insert a time-tagged command; returns the record of the command itself."""
        self._ready(spacecraft)
        insert, timed = self.session.schedule(at_s, command, args, spacecraft)
        self.verify(insert)
        return timed

    def verify(self, record: TcRecord, timeout_s: float = 30.0) -> TcRecord:
        deadline = time.monotonic() + timeout_s
        while not record.done:
            if time.monotonic() > deadline:
                raise ProcedureFailed(f"{record.text}: no completion within {timeout_s:g} s "
                                      f"({record.status})")
            time.sleep(0.02)
        if record.status != "completed":
            raise ProcedureFailed(f"{record.text}: {record.status} ({record.reason})")
        self._log(f"verified {record.text}")
        return record

    def expect_refused(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> str:
        try:
            fn(*args, **kw)
        except CommandRefusedError as exc:
            self._log(f"refused as expected: {exc}")
            return str(exc)
        raise ProcedureFailed(f"{getattr(fn, '__name__', fn)}{args} was not refused")

    def upload_file(self, path: str | Path, name: str | None = None, *, install: bool = False,
                    start: bool = False, spacecraft: str | None = None,
                    timeout_s: float = 3600.0, bit_rate: float = 9600.0) -> Any:
        """Upload across passes, then (optionally) install and start; see the module
        docstring. UploadError or ProcedureFailed say what went wrong."""
        from ground.file_transfer import upload_file
        path = Path(path)
        # no wait for a pass first: a role without the right is refused at once
        result = upload_file(self.session, path, name, spacecraft=spacecraft,
                             bit_rate=bit_rate, timeout_s=timeout_s, log=self._log)
        if install or start:
            app = bundle_app(path)
            self.verify(self.send("payload_host.install", spacecraft,
                                  file=result.name.encode()), timeout_s=60.0)
            if start:
                self.verify(self.send("payload_host.start_app", spacecraft,
                                      app=app.encode()), timeout_s=60.0)
        return result

    def tm(self, name: str, spacecraft: str | None = None) -> Any:
        latest = self.session.value(name, spacecraft)
        return None if latest is None else latest.eng

    def wait_for(self, name: str, predicate: Callable[[Any], bool] | None = None,
                 timeout_s: float = 30.0, spacecraft: str | None = None) -> Any:
        sc = self.session.spacecraft(spacecraft)
        before = sc.latest.get(name)
        t0 = before.time_s if before else float("-inf")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            latest = sc.latest.get(name)
            if latest is not None and latest.time_s > t0:
                t0 = latest.time_s
                if predicate is None or predicate(latest.eng):
                    return latest.eng
            time.sleep(0.02)
        last = sc.latest.get(name)
        raise ProcedureFailed(f"{name}: condition not met within {timeout_s:g} s "
                              f"(last value {last.eng if last else None!r})")

    def onboard_time(self, spacecraft: str | None = None) -> float | None:
        return self.session.spacecraft(spacecraft).onboard_time_s

    def names(self) -> dict[str, Any]:
        return {"send": self.send, "ping": self.ping, "set_parameter": self.set_parameter,
                "get_parameter": self.get_parameter, "schedule": self.schedule,
                "verify": self.verify, "expect_refused": self.expect_refused, "tm": self.tm,
                "wait_for": self.wait_for, "onboard_time": self.onboard_time, "log": self._log,
                "upload_file": self.upload_file,
                "sleep": time.sleep, "spacecraft": list(self.session.links),
                "session": self.session, "ProcedureFailed": ProcedureFailed}


def bundle_app(path: str | Path) -> str:
    """The app name in a bundle's manifest (ProcedureFailed if it is not a bundle)."""
    from fsw.payload.bundle import MANIFEST, BundleError, read_archive
    from fsw.payload.manifest import ManifestError, parse_manifest
    try:
        return parse_manifest(read_archive(Path(path).read_bytes())[MANIFEST]).name
    except (BundleError, ManifestError, KeyError, OSError) as exc:
        raise ProcedureFailed(f"{path}: not a partner bundle ({exc})") from None


def run_procedure(path: str | Path, api: ProcedureApi) -> None:
    """Run procedure file `path`; ProcedureFailed/AssertionError propagate to the caller."""
    source = Path(path).read_text()
    code = compile(source, str(path), "exec")
    scope = {"__name__": "__procedure__", "__file__": str(path), **api.names()}
    exec(code, scope)
