"""Every option of every `tessera` subcommand refuses bad input with one line
on stderr and exit status 2.

The cases are generated from the parsers themselves: each option's type
declares the inputs it must refuse (`bad_examples`, see tessera/options.py),
and an option whose type declares none fails here, so a new option cannot
arrive unvalidated.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from tessera.cli import build_parser, main


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command words, parser) for every subcommand, nested ones included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def _valued_arguments():
    """(command words, argument) for every argument that takes a value."""
    for path, parser in _commands(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
                continue
            if action.nargs == 0:  # flags (store_true and the like) take no input
                continue
            yield path, action


ARGUMENTS = list(_valued_arguments())


def _label(path: tuple[str, ...], action: argparse.Action) -> str:
    return " ".join(path) + " " + (action.option_strings[-1] if action.option_strings
                                   else action.dest)


def test_the_parsers_have_options_to_check():
    labels = [_label(p, a) for p, a in ARGUMENTS]
    for expected in ("sim --orbits", "sim --seed", "sim --out", "demo --out", "fsw --store",
                     "fsw --backend", "fsw --config"):
        assert expected in labels


@pytest.mark.parametrize(("path", "action"), ARGUMENTS,
                         ids=[_label(p, a) for p, a in ARGUMENTS])
def test_every_option_refuses_bad_input_in_one_line(path, action, capsys):
    bad = getattr(action.type, "bad_examples", None)
    if action.choices is not None:
        bad = ("no-such-choice",)
    assert bad, (f"{_label(path, action)} has no validating type: give it one from "
                 "tessera.options (or any type with `bad_examples`)")
    count = action.nargs if isinstance(action.nargs, int) else 1
    for text in bad:
        words = [*action.option_strings[-1:], *([text] * count)]
        with pytest.raises(SystemExit) as stop:
            main([*path, *words])
        err = capsys.readouterr().err
        assert stop.value.code == 2, f"{words} was accepted"
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        name = action.option_strings[-1] if action.option_strings else action.dest
        assert name in lines[0], f"the message does not name {name}: {lines[0]}"


def tessera(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "tessera", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("args", [
    ("sim", "--orbits", "nan"),          # once a hang: the run never reached its end time
    ("sim", "--orbits", "-1"),
    ("sim", "--inclination-deg", "500"),
    ("sim", "--alt-km", "-100"),
    ("sim", "--seed", "-1"),
    ("sim", "--out", "/proc/tessera-out"),
    ("demo", "--out", "/dev/null/out"),
    ("demo", "--quick", "--single"),     # two different runs asked for at once
    ("demo", "--orbits", "2"),           # an option of the single-spacecraft run alone
    ("demo", "--no-plot"),
])
def test_the_reported_bad_inputs_end_in_one_line_as_a_process(args):
    proc = tessera(*args)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_fsw_without_hardware_says_so_rather_than_naming_a_part():
    proc = tessera("fsw", "--duration-s", "0.1")
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "no hardware or emulators are attached" in line and "--backend linux" in line
    assert "REVID" not in line and "minor frames" not in proc.stdout
