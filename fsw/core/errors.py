"""Exceptions raised by the flight framework core.

Every error names its culprit (a message id, an app, a pipe, a config key) so
that an operator reading the event log knows what to fix.
"""

from __future__ import annotations


class BusError(Exception):
    """Base class for software-bus errors."""


class MalformedMessageIdError(BusError):
    """A message id that is not a valid 16-bit CCSDS stream id."""


class UnknownMessageError(BusError):
    """A message id that no message type was registered for."""


class MessageSizeError(BusError):
    """A payload whose length does not match its message type's layout."""


class DuplicateMessageError(BusError):
    """Two message types registered under one message id."""


class ConfigError(Exception):
    """A configuration file or entry that cannot be used, with the key at fault."""


class CommandError(Exception):
    """A command that cannot be executed; carries a PUS-style failure reason code."""

    def __init__(self, reason: int, text: str) -> None:
        super().__init__(text)
        self.reason = reason
