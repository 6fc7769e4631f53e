"""The partner app SDK: the one API a payload app imports (``from fsw.payload import ...``).

A payload app has the shape of every Tessera app (init, main loop, command
handler, housekeeping), but it runs in its own sandboxed process and
reaches the bus only through the host's bridge::

    from fsw.payload import PayloadApp, on_command

    class HelloApp(PayloadApp):
        def init(self):
            self.count = 0
            self.subscribe("ExecutiveHousekeeping", self.on_executive)

        def execute(self):                       # once per cycle, at the manifest's rate_hz
            self.count += 1
            self.publish("HelloStatus", count=self.count, temp_c=20.5)

        @on_command("SET_GAIN")                  # declared in manifest.toml
        def set_gain(self, gain):
            self.gain = gain

        def on_executive(self, values):          # a granted topic, decoded
            self.last_frames = values["minor_frames"]

Everything an app publishes or answers is declared in its manifest: the
SDK builds the message layouts from it, checks arguments and ranges, and
answers the standard commands (0 NOOP, 1 RESET_COUNTERS, 2 SET_PARAMETER,
3 REPORT_PARAMETER). Services: `publish`, `subscribe`, `event`, `params`,
`now` (mission time, s), `storage` (the private directory, under its
quota) and `device` (a device the manifest was granted, whose methods the
operator lists in the host's ``device_methods``; called through the host).
A handler raises `CommandFailedError(text)` to fail a command.
"""

from __future__ import annotations

import errno
import json
import select
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fsw.core.app import COMMAND_HEADER, STANDARD_HK_FIELDS, Reason, Stage
from fsw.core.message import Field, Layout, MessageType
from fsw.payload import bridge
from fsw.payload.bridge import Kind
from fsw.payload.manifest import CommandDecl, Manifest

SEVERITIES = {"info": 1, "low": 2, "medium": 3, "high": 4}
# Event ids the SDK and the runner raise for the app (above the App base class's 1-9);
# the app's own events are FIRST_APP_EVENT and up.
EV_SANDBOX = 10
EV_CRASHED = 11
EV_CYCLE_FAILED = 12
EV_COMMAND_FAILED = 13
EV_BRIDGE_FRAME = 14
FIRST_APP_EVENT = 100
HK_LAYOUT = Layout(STANDARD_HK_FIELDS)


class CommandFailedError(Exception):
    """Raised by a command handler: the command fails at completion with this text."""


class DeviceNotGrantedError(Exception):
    """The app asked for a device its manifest does not list."""


def on_command(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method as the handler of the manifest command `name`."""

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn._payload_command = name  # type: ignore[attr-defined]
        return fn

    return mark


class StorageQuotaError(OSError):
    """A write refused because the private directory would be over its quota (bytes or
    files); errno EDQUOT, and the text says which and by how much."""


class Storage:
    """The app's private directory, which the host keeps: every operation is a request
    over the bridge, and the host enforces the quota (`storage_kib` bytes, `storage_files`
    files) on every write, so a write beyond it fails here with `StorageQuotaError` and
    the app's process cannot write a file by itself (its file size limit is 0).

    File names are plain: 1-64 of ``A-Z a-z 0-9 . _ -``, not starting with a dot.
    A write replaces the whole file at once (the old content stays until the new one
    is complete).
    """

    def __init__(self, link: _Link, quota_bytes: int, quota_files: int) -> None:
        self._link = link
        self.quota_bytes = quota_bytes
        self.quota_files = quota_files

    def _call(self, header: dict[str, Any], data: bytes = b"") -> tuple[dict[str, Any], bytes]:
        reply = self._link.request(Kind.STORAGE, bridge.encode_storage(header, data),
                                   Kind.STORAGE_REPLY)
        try:
            head, payload = bridge.decode_storage(reply)
        except bridge.BridgeError:  # the link's own "no reply" answer is plain JSON
            head, payload = json.loads(reply), b""
        if head.get("ok"):
            return head, payload
        why = f"{header.get('name', '')}: {head.get('error', 'refused')}".lstrip(": ")
        if head.get("quota"):
            raise StorageQuotaError(errno.EDQUOT, why)
        if head.get("missing"):
            raise FileNotFoundError(errno.ENOENT, why)
        raise PermissionError(errno.EPERM, why)

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write (replace) a file; StorageQuotaError if the directory would be over quota."""
        data = bytes(data)
        chunk = bridge.STORAGE_CHUNK
        for offset in range(0, max(len(data), 1), chunk):
            self._call({"op": "write", "name": name, "size": len(data), "offset": offset},
                       data[offset:offset + chunk])

    def read_bytes(self, name: str) -> bytes:
        out = bytearray()
        while True:
            head, payload = self._call({"op": "read", "name": name, "offset": len(out)})
            out += payload
            if len(out) >= int(head["size"]) or not payload:
                return bytes(out)

    def exists(self, name: str) -> bool:
        return bool(self._call({"op": "exists", "name": name})[0]["exists"])

    def remove(self, name: str) -> None:
        self._call({"op": "remove", "name": name})

    def used_bytes(self) -> int:
        """Octets the directory holds now."""
        return int(self._call({"op": "usage"})[0]["bytes"])

    def used_files(self) -> int:
        """Files the directory holds now."""
        return int(self._call({"op": "usage"})[0]["files"])


class DeviceProxy:
    """Calls methods of one granted device through the bridge; results come back as JSON
    values (numbers, strings, lists). A refused call raises DeviceNotGrantedError."""

    def __init__(self, name: str, link: _Link) -> None:
        self._name = name
        self._link = link

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any) -> Any:
            reply = self._link.request(Kind.DEVICE, json.dumps(
                {"device": self._name, "method": method, "args": list(args)}).encode(),
                Kind.DEVICE_REPLY)
            result = json.loads(reply)
            if not result.get("ok"):
                raise DeviceNotGrantedError(f"{self._name}.{method}: {result.get('error')}")
            return result.get("value")

        return call


class PayloadApp:
    """Base class of a partner's payload app; see the module docstring."""

    def __init__(self, manifest: Manifest, link: _Link, data_dir: Path) -> None:
        self.manifest = manifest
        self._link = link
        self._mission_time = 0.0
        self._time_mono = time.monotonic()
        self.cmd_count = 0
        self.cmd_error_count = 0
        self.cycle_error_count = 0
        self.params: dict[str, float] = {p.name: p.default for p in manifest.parameters}
        self.storage = Storage(link, manifest.resources.storage_kib * 1024,
                               manifest.resources.storage_files)
        self._telemetry = {t.name: t for t in manifest.telemetry}
        self._commands: dict[int, tuple[CommandDecl, Layout, Callable[..., Any]]] = {}
        self._topics: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._topic_layouts: dict[int, tuple[str, Layout]] = {}
        by_name = {c.name: c for c in manifest.commands}
        for klass in reversed(type(self).__mro__):
            for attr, fn in vars(klass).items():
                cname = getattr(fn, "_payload_command", None)
                if cname is None:
                    continue
                if cname not in by_name:
                    raise TypeError(f"{type(self).__name__}.{attr}: command {cname!r} is not "
                                    "declared in manifest.toml")
                decl = by_name[cname]
                self._commands[decl.code] = (decl, Layout(decl.args), getattr(self, attr))

    # -- hooks ------------------------------------------------------------------
    def init(self) -> None:
        """Set up state and subscriptions."""

    def execute(self) -> None:
        """One cycle of work, at the manifest's rate_hz."""

    def stop(self) -> None:
        """Called before the app is stopped (save state to `self.storage`)."""

    # -- services ---------------------------------------------------------------
    def publish(self, name: str, **values: Any) -> None:
        """Publish the manifest telemetry `name` with its field values."""
        mtype = self._telemetry.get(name)
        if mtype is None:
            raise KeyError(f"telemetry {name!r} is not declared in manifest.toml")
        self._link.send(Kind.PUBLISH, mtype.msg_id, mtype.pack(**values))

    def publish_raw(self, msg_id: int, payload: bytes) -> None:
        """Publish bytes under any message id (the host refuses ids that are not the app's)."""
        self._link.send(Kind.PUBLISH, msg_id, payload)

    def subscribe(self, topic: str, handler: Callable[[dict[str, Any]], None]) -> None:
        """Ask for operator telemetry `topic`; `handler(values)` runs for each message once
        the host grants it (the manifest must list it under app.subscribe)."""
        self._topics[topic] = handler
        self._link.send(Kind.SUBSCRIBE, 0, topic.encode())

    def event(self, text: str, severity: str = "info", event_id: int = FIRST_APP_EVENT) -> None:
        """Raise an event (info, low, medium, high); it reaches the ground like any other.
        Ids below 100 are the SDK's own; the app's are 100 and up."""
        if not FIRST_APP_EVENT <= event_id <= 0xFFFF:
            raise ValueError(f"event id {event_id}: an app's events are {FIRST_APP_EVENT}-65535")
        self._sdk_event(text, severity, event_id)

    def _sdk_event(self, text: str, severity: str, event_id: int) -> None:
        self._link.send(Kind.EVENT, 0, bridge.EVENT.pack(event_id, SEVERITIES[severity])
                        + text.encode()[:120])

    def now(self) -> float:
        """Mission time, s (the executive's clock, as of the last cycle, plus time since)."""
        return self._mission_time + (time.monotonic() - self._time_mono)

    def device(self, name: str) -> DeviceProxy:
        """A granted device: ``self.device("magnetometer").read_field_t()`` calls the driver
        on board through the host, which allows only the methods the operator lists."""
        if name not in self.manifest.devices:
            raise DeviceNotGrantedError(f"device {name!r} is not granted in manifest.toml")
        return DeviceProxy(name, self._link)

    # -- driven by the runner --------------------------------------------------------
    def _tick(self, body: bytes) -> None:
        self._mission_time, hk = bridge.TICK.unpack(body)
        self._time_mono = time.monotonic()
        try:
            self.execute()
        except Exception as exc:  # the app's own bug: count it, report it
            self.cycle_error_count += 1
            self._sdk_event(f"cycle failed: {type(exc).__name__}: {exc}", "medium", EV_CYCLE_FAILED)
        if hk:
            self._link.send(Kind.PUBLISH, self.manifest.hk_id, HK_LAYOUT.pack(
                cmd_count=min(self.cmd_count, 0xFFFF),
                cmd_error_count=min(self.cmd_error_count, 0xFFFF),
                cycle_error_count=min(self.cycle_error_count, 0xFFFF)))
        self._link.send(Kind.DONE, 0, b"")
        self._link.flush()

    def _granted(self, msg_id: int, body: bytes) -> None:
        info = json.loads(body)
        layout = Layout(Field(n, f) for n, f in info["fields"])
        self._topic_layouts[msg_id] = (info["name"], layout)

    def _message(self, msg_id: int, body: bytes) -> None:
        entry = self._topic_layouts.get(msg_id)
        if entry is None:
            return
        name, layout = entry
        handler = self._topics.get(name)
        if handler is not None and len(body) == layout.size:
            handler(layout.unpack(body))

    def _command(self, body: bytes) -> None:
        if len(body) < COMMAND_HEADER.size:
            return
        rid, code = COMMAND_HEADER.unpack_from(body)
        args_raw = body[COMMAND_HEADER.size:]
        std = {0: (Layout(()), self._noop), 1: (Layout(()), self._reset),
               2: (Layout((Field("index", "H"), Field("value", "d"))), self._set_param),
               3: (Layout((Field("index", "H"),)), self._report_param)}
        if code in self._commands:
            _decl, layout, handler = self._commands[code]
        elif code in std:
            layout, handler = std[code]
        else:
            return self._fail(rid, code, Stage.ACCEPTANCE, Reason.UNKNOWN_FUNCTION)
        if len(args_raw) != layout.size:
            return self._fail(rid, code, Stage.ACCEPTANCE, Reason.BAD_LENGTH)
        args = layout.unpack(args_raw)
        if layout.check(args):
            return self._fail(rid, code, Stage.ACCEPTANCE, Reason.BAD_ARGUMENT)
        self._result(rid, code, Stage.ACCEPTANCE, True, Reason.NONE)
        try:
            handler(**args)
        except CommandFailedError as exc:
            self._sdk_event(f"command {code} failed: {exc}", "low", EV_COMMAND_FAILED)
            return self._fail(rid, code, Stage.COMPLETION, Reason.EXECUTION_FAILED)
        except (ValueError, LookupError, ArithmeticError, TypeError) as exc:
            self._sdk_event(f"command {code} failed: {type(exc).__name__}: {exc}", "medium",
                            EV_COMMAND_FAILED)
            return self._fail(rid, code, Stage.COMPLETION, Reason.EXECUTION_FAILED)
        self.cmd_count += 1
        self._result(rid, code, Stage.COMPLETION, True, Reason.NONE)

    def _fail(self, rid: int, code: int, stage: Stage, reason: Reason) -> None:
        self.cmd_error_count += 1
        self._result(rid, code, stage, False, reason)

    def _result(self, rid: int, code: int, stage: Stage, ok: bool, reason: Reason) -> None:
        self._link.send(Kind.RESULT, 0, bridge.RESULT.pack(rid, code, int(stage), ok,
                                                           int(reason)))

    def _noop(self) -> None:
        self.event(f"{self.manifest.name}: no-op")

    def _reset(self) -> None:
        self.cmd_count = -1
        self.cmd_error_count = 0
        self.cycle_error_count = 0

    def _set_param(self, index: int, value: float) -> None:
        params = self.manifest.parameters
        if index >= len(params):
            raise CommandFailedError(f"no parameter {index}")
        p = params[index]
        why = Field(p.name, p.fmt, low=p.low, high=p.high).check(
            int(value) if p.fmt not in "fd" and float(value).is_integer() else value)
        if why:
            raise CommandFailedError(why)
        self.params[p.name] = value

    def _report_param(self, index: int) -> None:
        params = self.manifest.parameters
        indices = range(len(params)) if index == 0xFFFF else [index]
        for i in indices:
            if i >= len(params):
                raise CommandFailedError(f"no parameter {i}")
            self._link.send(Kind.PARAMETER, 0,
                            bridge.PARAMETER.pack(i, float(self.params[params[i].name])))


class _Link:
    """The app's end of the bridge: buffered sends, framed receives."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = bridge.FrameReader()
        self._out = bytearray()
        self._backlog: list[tuple[int, int, bytes]] = []

    def request(self, kind: int, body: bytes, reply_kind: int, timeout_s: float = 2.0) -> bytes:
        """Send one request and wait for its reply; frames meanwhile are kept for later."""
        self.send(kind, 0, body)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            frames = self._read(max(deadline - time.monotonic(), 0.0))
            if frames is None:
                break
            for i, (k, _mid, b) in enumerate(frames):
                if k == reply_kind:
                    self._backlog.extend(frames[:i] + frames[i + 1:])
                    return b
            self._backlog.extend(frames)
        return json.dumps({"ok": False, "error": "no reply from the host"}).encode()

    def send(self, kind: int, msg_id: int, body: bytes) -> None:
        self._out += bridge.encode(kind, msg_id, body)
        if len(self._out) >= 16384:
            self.flush()

    def flush(self) -> None:
        if self._out:
            self.sock.sendall(self._out)
            self._out.clear()

    def receive(self, timeout_s: float) -> list[tuple[int, int, bytes]] | None:
        """Frames that arrived within `timeout_s`; None when the host closed the bridge."""
        if self._backlog:
            frames, self._backlog = self._backlog, []
            return frames
        return self._read(timeout_s)

    def _read(self, timeout_s: float) -> list[tuple[int, int, bytes]] | None:
        self.flush()
        ready, _, _ = select.select([self.sock], [], [], timeout_s)
        if not ready:
            return []
        data = self.sock.recv(1 << 18)
        if not data:
            return None
        return self.reader.feed(data)


def serve(app: PayloadApp, link: _Link) -> None:
    """The app's main loop: run what the host sends until it says STOP or goes away."""
    app.init()
    link.send(Kind.READY, 0, b"")
    dispatch = {Kind.TICK: lambda _m, b: app._tick(b),
                Kind.COMMAND: lambda _m, b: app._command(b),
                Kind.MESSAGE: app._message,
                Kind.GRANTED: app._granted}
    while True:
        frames = link.receive(1.0)
        if frames is None:
            break
        for kind, msg_id, body in frames:
            if kind == Kind.STOP:
                app.stop()
                link.flush()
                return
            if kind == Kind.REFUSED:
                continue
            handler = dispatch.get(kind)
            if handler is not None:
                try:
                    handler(msg_id, body)
                except (ValueError, struct.error, KeyError, TypeError) as exc:
                    app._sdk_event(f"bridge frame {kind} not handled: {exc}", "low",
                                   EV_BRIDGE_FRAME)
    app.stop()


def standard_telemetry(manifest: Manifest) -> MessageType:
    """The app's housekeeping message (standard counters) on tm_msg_id(app.apid)."""
    return MessageType(f"{manifest.name}Housekeeping", manifest.hk_id, STANDARD_HK_FIELDS)
