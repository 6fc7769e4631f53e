"""Command sequences declared in the flight configuration.

FDIR responses and mode-entry actions are lists of commands to other apps,
written by name so a configuration reads as what it does::

    response = [{app = "mode", command = "enter_safe", args = {cause = 1}},
                {app = "eps", command = "set_output", args = {output = 0, on = 0}}]

`resolve` checks every step against the target app's declared commands
(name, argument names, types and ranges) once all apps are up, so a wrong
sequence stops the boot of the app that holds it instead of failing when it
is needed. `send` publishes the steps as ordinary bus commands; the target
apps verify and report them like any other command (PUS service 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fsw.core.app import COMMAND_HEADER, App
from fsw.core.bus import SoftwareBus
from fsw.core.message import cmd_msg_id


class SequenceError(ValueError):
    """A declared command sequence names something that does not exist or does not fit."""


@dataclass(frozen=True)
class Step:
    """One resolved command: where it goes and its argument bytes."""

    app: str
    command: str
    msg_id: int
    function_code: int
    args: bytes

    def payload(self, request_id: int) -> bytes:
        return COMMAND_HEADER.pack(request_id, self.function_code) + self.args


def resolve(entries: Any, apps: Mapping[str, App], where: str = "sequence", *,
            missing: list[str] | None = None) -> list[Step]:
    """Check a declared sequence against the running apps; SequenceError names the problem.

    With a `missing` list, a step to an app that is not running (it failed to
    boot) is left out and named there instead: the rest of the sequence still
    goes out, which is what a safing sequence needs."""
    if not isinstance(entries, list):
        raise SequenceError(f"{where}: must be a list of {{app, command, args}}")
    steps = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, Mapping) or set(entry) - {"app", "command", "args"}:
            raise SequenceError(f"{at}: must be a table of app, command and args")
        app = apps.get(str(entry.get("app")))
        if app is None and missing is not None:
            missing.append(f"{at}: {entry.get('app')}.{entry.get('command')}")
            continue
        if app is None:
            raise SequenceError(f"{at}: no app {entry.get('app')!r} (apps: {sorted(apps)})")
        name = str(entry.get("command", "")).upper()
        spec = next((s for s in type(app).COMMANDS.values() if s.name == name), None)
        if spec is None or spec.parse is not None:
            known = sorted(s.name.lower() for s in type(app).COMMANDS.values() if s.parse is None)
            raise SequenceError(f"{at}: app {app.NAME!r} has no command "
                                f"{entry.get('command')!r} with fixed arguments ({known})")
        args = dict(entry.get("args", {}))
        extra = set(args) - {f.name for f in spec.args.fields}
        why = f"unknown arguments {sorted(extra)}" if extra else spec.args.check(args)
        if why:
            raise SequenceError(f"{at}: {app.NAME}.{name.lower()}: {why}")
        steps.append(Step(app.NAME, name.lower(), cmd_msg_id(app.APID), spec.code,
                          spec.args.pack(**args)))
    return steps


def send(bus: SoftwareBus, steps: list[Step], request_id: int) -> None:
    """Publish every step as a bus command carrying `request_id`."""
    for step in steps:
        bus.publish(step.msg_id, step.payload(request_id))
