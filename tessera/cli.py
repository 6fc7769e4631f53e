"""`tessera`: the one command line of Tessera.

Each subcommand lives in its own module under `tessera.commands` and
registers itself with `register(subparsers)`; this file only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import NoReturn

# (module under tessera.commands) in the order `tessera --help` lists them.
COMMAND_MODULES = (
    "demo",
    "sim",
    "fsw",
    "hil",
    "app",
    "dict",
    "ground",
)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="tessera", description="Open flight software for a shared satellite.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every event")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"tessera.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
