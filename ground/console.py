"""The operator console: `tessera ground console`, a terminal front end to a `Session`.

Lines (``help`` lists them, ``help APP.COMMAND`` describes one command from
the dictionary):

    APP.COMMAND [ARG ...] [NAME=VALUE ...]   PUS TC[8,1], arguments checked first
    ping APP                                 PUS TC[17,1]
    set APP.PARAM VALUE / get APP.PARAM      PUS TC[20,3] / TC[20,1]
    at T APP.COMMAND ...                     time-tagged (PUS 11) at on-board T s
    in S APP.COMMAND ...                     time-tagged S s after the newest TM time
    tm [PATTERN]                             latest values (with units)
    events [N] / commands [N]                newest archived events / TC history
    sc [NAME]                                list spacecraft or pick the current one
    status                                   links, COP-1, counters
    wait [S]                                 wait for a pass (a CLCW), at most S s
    quit

A command its flight app declares critical (``@command(..., critical=True)``,
carried by the dictionary) is sent only after the operator answers ``yes``.

Completion (Tab) offers console words, ``APP.COMMAND`` names, argument
names and parameter names from the dictionary; history is kept in a file.
Every refusal or error is one line and the console keeps running.
"""

from __future__ import annotations

import cmd
import shlex
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from ground.session import CommandRefusedError, Session, parse_value

WORDS = ("ping", "set", "get", "at", "in", "tm", "events", "commands", "sc", "status", "wait",
         "help", "quit")


class Console(cmd.Cmd):
    """Reads lines, checks them against the dictionary and the role, sends TCs."""

    intro = "Tessera ground console. 'help' lists commands, Tab completes, 'quit' leaves."

    def __init__(self, session: Session, stdin: IO[str] | None = None,
                 stdout: IO[str] | None = None, history: str | Path | None = None) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        if stdin is not None:
            self.use_rawinput = False
        self.session = session
        self.current: str | None = None
        self.history = Path(history) if history else None
        self._out_lock = threading.Lock()
        self.prompt = f"{session.holder.name}@{next(iter(session.links))}> "
        self._readline: Any = None

    # -- output ------------------------------------------------------------------
    def say(self, text: str) -> None:
        with self._out_lock:
            self.stdout.write(text + "\n")
            self.stdout.flush()

    def notify(self, kind: str, text: str, severity: int = 1) -> None:
        """Session callback: one line per thing that happened."""
        self.say(f"[{kind}] {text}")

    # -- loop ---------------------------------------------------------------------
    def preloop(self) -> None:
        if self.use_rawinput:
            try:
                import readline
            except ImportError:
                return
            self._readline = readline
            readline.set_completer_delims(" \t")
            if self.history and self.history.exists():
                try:
                    readline.read_history_file(str(self.history))
                except OSError:
                    pass

    def postloop(self) -> None:
        if self._readline is not None and self.history:
            try:
                self._readline.write_history_file(str(self.history))
            except OSError:
                pass

    def onecmd(self, line: str) -> bool:
        try:
            return bool(super().onecmd(line))
        except CommandRefusedError as exc:
            self.say(f"refused: {exc}")
        except (ValueError, KeyError, OSError) as exc:
            self.say(f"error: {exc}")
        return False

    def emptyline(self) -> bool:
        return False

    def do_quit(self, arg: str) -> bool:
        """quit: leave the console (the archive keeps everything)."""
        return True

    do_EOF = do_quit  # noqa: N815 - cmd's name for end of input

    # -- commanding -----------------------------------------------------------------
    def default(self, line: str) -> bool:
        words = _split(line)
        if words and "." in words[0]:
            values = self._args(words[0], words[1:])
            if not self._confirmed(words[0], values):
                return False
            rec = self.session.command(words[0], values, self.current)
            self.say(f"sent {rec.text} [{rec.request_id:#010x}]")
            return False
        self.say(f"unknown command {words[0]!r}: 'help' lists commands" if words else "")
        return False

    def _confirmed(self, dotted: str, values: dict[str, Any]) -> bool:
        """True unless `dotted` is declared critical by its flight app and the operator
        does not answer ``yes`` (the web console asks the same; a procedure does not).
        The question comes after the ground's own checks, never for a refused command."""
        if not self.session.check_command(dotted, values, self.current).critical:
            return True
        question = f"{dotted} is declared critical by its flight app; type yes to send it: "
        if self.use_rawinput:
            try:
                answer = input(question)
            except EOFError:
                answer = ""
        else:
            with self._out_lock:
                self.stdout.write(question)
                self.stdout.flush()
            answer = self.stdin.readline()
        if answer.strip().lower() == "yes":
            return True
        self.say(f"not sent: {dotted} is sent only after 'yes'")
        return False

    def _args(self, dotted: str, words: list[str]) -> dict[str, Any]:
        cmd_def = self.session.resolve(dotted)
        values: dict[str, Any] = {}
        positional = [a for a in cmd_def.args]
        for i, w in enumerate(words):
            name, eq, text = w.partition("=")
            if eq:
                arg = next((a for a in cmd_def.args if a.name == name), None)
                if arg is None:
                    raise CommandRefusedError(f"{dotted} has no argument {name}")
            else:
                if i >= len(positional):
                    raise CommandRefusedError(f"{dotted} takes {len(positional)} argument(s)")
                arg, text = positional[i], w
            values[arg.name] = parse_value(text, arg)
        return values

    def do_ping(self, arg: str) -> None:
        """ping APP: PUS 17 are-you-alive to APP's application process."""
        app = arg.strip()
        if not app:
            raise CommandRefusedError("ping needs an app name")
        rec = self.session.ping(app, self.current)
        self.say(f"sent {rec.text} [{rec.request_id:#010x}]")

    def do_set(self, arg: str) -> None:
        """set APP.PARAM VALUE: change a parameter (PUS 20), range-checked first."""
        words = _split(arg)
        if len(words) != 2:
            raise CommandRefusedError("set takes APP.PARAM VALUE")
        app, _, pname = words[0].partition(".")
        p = self.session.dictionary.apps.get(app)
        param = p.parameters.get(pname) if p else None
        if param is None:
            raise CommandRefusedError(f"no parameter {words[0]!r}")
        rec = self.session.set_parameter(words[0], parse_value(words[1], param.field),
                                         self.current)
        self.say(f"sent {rec.text} [{rec.request_id:#010x}]")

    def do_get(self, arg: str) -> None:
        """get APP.PARAM: ask for a parameter's value (PUS 20); it arrives as [parameter]."""
        rec = self.session.get_parameter(arg.strip(), self.current)
        self.say(f"sent {rec.text} [{rec.request_id:#010x}]")

    def _timed(self, release_s: float, words: list[str]) -> None:
        if not words:
            raise CommandRefusedError("which APP.COMMAND?")
        values = self._args(words[0], words[1:])
        if not self._confirmed(words[0], values):
            return
        insert, timed = self.session.schedule(release_s, words[0], values, self.current)
        self.say(f"sent {insert.text} [{insert.request_id:#010x}]; the command is "
                 f"[{timed.request_id:#010x}]")

    def do_at(self, arg: str) -> None:
        """at T APP.COMMAND [ARGS]: execute on board at on-board time T (s)."""
        words = _split(arg)
        if not words:
            raise CommandRefusedError("at takes T APP.COMMAND [ARGS]")
        self._timed(_number(words[0], "time"), words[1:])

    def do_in(self, arg: str) -> None:
        """in S APP.COMMAND [ARGS]: execute on board S seconds after the newest TM time."""
        words = _split(arg)
        if not words:
            raise CommandRefusedError("in takes S APP.COMMAND [ARGS]")
        now = self.session.spacecraft(self.current).onboard_time_s
        if now is None:
            raise CommandRefusedError("no telemetry yet: on-board time unknown, use 'at'")
        self._timed(now + _number(words[0], "delay"), words[1:])

    # -- looking -----------------------------------------------------------------------
    def do_tm(self, arg: str) -> None:
        """tm [PATTERN]: latest value of every parameter whose name contains PATTERN."""
        sc = self.session.spacecraft(self.current)
        pattern = arg.strip()
        shown = 0
        for name in sorted(sc.latest):
            if pattern in name:
                v = sc.latest[name]
                unit = self._unit(name)
                self.say(f"{name:40s} {_show(v.eng)}{unit}  (t={v.time_s:.1f} s)")
                shown += 1
        if not shown:
            self.say("no telemetry matches" if pattern else "no telemetry yet")

    def _unit(self, name: str) -> str:
        entry = self.session.dictionary.parameters.get(name)
        return f" {entry[1].unit}" if entry and entry[1].unit else ""

    def do_events(self, arg: str) -> None:
        """events [N]: the newest N (default 10) archived events of this spacecraft."""
        n = int(_number(arg or "10", "count"))
        sc = self.session.spacecraft(self.current)
        for e in self.session.archive.events(sc.config.scid, float("-inf"), float("inf"))[-n:]:
            self.say(f"t={e.t:10.1f} {e.origin:6s} {e.app} {e.name} [{e.severity}] {e.text}")

    def do_commands(self, arg: str) -> None:
        """commands [N]: the newest N (default 10) TCs with their verification."""
        n = int(_number(arg or "10", "count"))
        sc = self.session.spacecraft(self.current)
        for rec in list(sc.tracker.records.values())[-n:]:
            self.say(rec.summary())

    def do_sc(self, arg: str) -> None:
        """sc [NAME]: list the spacecraft, or make NAME the current one."""
        name = arg.strip()
        if name:
            self.session.spacecraft(name)
            self.current = name
            self.prompt = f"{self.session.holder.name}@{name}> "
        for n, sc in self.session.links.items():
            mark = "*" if n == (self.current or next(iter(self.session.links))) else " "
            self.say(f"{mark} {n} SCID {sc.config.scid:#05x} {sc.config.url}")

    def do_wait(self, arg: str) -> None:
        """wait [S]: wait up to S s (default 60) until the spacecraft is in a pass."""
        limit = _number(arg or "60", "wait")
        sc = self.session.spacecraft(self.current)
        self.session.wait_ready(limit, self.current)
        self.say(f"{sc.config.name}: {'in a pass' if sc.ready else 'no pass yet'}")

    def do_status(self, arg: str) -> None:
        """status: link, COP-1 and counters of every spacecraft."""
        for n, sc in self.session.links.items():
            self.say(f"{n}: link {'up' if sc.link.up else 'down'}, COP-1 "
                     f"{'active' if sc.ready else 'waiting for a CLCW'} on VC {sc.vcid} "
                     f"(V(S)={sc.fop.vs}), frames {sc.frames_in} in / {sc.frames_bad} bad, "
                     f"packets lost {sc.decoder.lost_packets}, on-board time "
                     f"{sc.onboard_time_s if sc.onboard_time_s is not None else '?'}")

    # -- help ---------------------------------------------------------------------------
    def do_help(self, arg: str) -> None:
        """help [COMMAND | APP.COMMAND | APP]: what a console word or a TC does."""
        name = arg.strip()
        d = self.session.dictionary
        if not name:
            self.say("console: " + ", ".join(WORDS))
            self.say("apps: " + ", ".join(sorted(d.apps)) + "  ('help APP' lists its commands)")
            return
        if name in d.apps:
            app = d.apps[name]
            self.say(f"{name} (APID {app.apid:#05x}): {app.doc}")
            for c in app.commands.values():
                self.say(f"  {name}.{c.name.lower()} {' '.join(a.name for a in c.args)}  {c.doc}")
            for p in app.parameters.values():
                self.say(f"  parameter {name}.{p.field.name} [{p.field.low}, {p.field.high}] "
                         f"{p.field.unit}  {p.field.doc}")
            return
        if "." in name:
            c = self.session.resolve(name)
            allowed = self.session.holder.may_command(c.apid)
            self.say(f"{c.app}.{c.name} (function {c.code}, APID {c.apid:#05x}): {c.doc}"
                     f"{'' if allowed else '  [not allowed for this role]'}")
            for a in c.args:
                rng = f" [{a.low:g}, {a.high:g}]" if a.low is not None and a.high is not None \
                    else ""
                enum = f" one of {', '.join(a.enum.values())}" if a.enum else ""
                self.say(f"  {a.name}: {a.type}{rng}{enum} {a.unit} {a.doc}".rstrip())
            return
        super().do_help(name)

    # -- completion -----------------------------------------------------------------------
    def _dotted(self) -> list[str]:
        d = self.session.dictionary
        return [f"{a}.{c.lower()}" for a, app in d.apps.items() for c in app.commands]

    def completenames(self, text: str, *ignored: Any) -> list[str]:
        return [w for w in (*WORDS, *self._dotted()) if w.startswith(text)]

    def completedefault(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        words = _split(line[:begidx])
        if not words:
            return self.completenames(text)
        head = words[0]
        if head in ("ping", "help"):
            pool = [*self.session.dictionary.apps, *self._dotted()]
        elif head in ("set", "get"):
            pool = [f"{a}.{p}" for a, app in self.session.dictionary.apps.items()
                    for p in app.parameters]
        elif head in ("at", "in") and len(words) == 2:
            pool = self._dotted()
        elif head == "tm":
            pool = list(self.session.dictionary.parameters)
        elif head == "sc":
            pool = list(self.session.links)
        else:
            target = words[2] if head in ("at", "in") and len(words) > 2 else head
            try:
                pool = [f"{a.name}=" for a in self.session.resolve(target).args]
            except CommandRefusedError:
                pool = []
        return [p for p in pool if p.startswith(text)]

    complete_ping = complete_help = complete_set = complete_get = completedefault
    complete_at = complete_in = complete_tm = complete_sc = completedefault


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise CommandRefusedError(f"cannot read that line: {exc}") from None


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandRefusedError(f"{what} {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise CommandRefusedError(f"{what} must be finite")
    return value


def _show(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, bytes):
        return v.rstrip(b"\0").decode("utf-8", "replace") or v.hex()
    return str(v)


def run_console(session: Session, history: str | Path | None = None,
                stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    console = Console(session, stdin=stdin, stdout=stdout or sys.stdout, history=history)
    session.notify = console.notify
    session.start()
    try:
        console.cmdloop()
    except KeyboardInterrupt:
        console.say("")
    finally:
        time.sleep(0.05)
        session.stop()
    return 0
