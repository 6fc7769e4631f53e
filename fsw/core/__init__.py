"""The flight framework core: bus, messages, apps, executive, time, events, store.

What an app developer needs is importable from here::

    from fsw.core import App, Field, MessageType, Parameter, command, tm_msg_id
"""

from fsw.core.app import (
    COMMAND_RESULT_MSG,
    PARAMETER_REPORT_MSG,
    App,
    AppContext,
    AppState,
    Parameter,
    Reason,
    Stage,
    command,
    encode_command,
)
from fsw.core.bus import Pipe, SoftwareBus
from fsw.core.errors import (
    BusError,
    CommandError,
    ConfigError,
    DuplicateMessageError,
    MalformedMessageIdError,
    MessageSizeError,
    UnknownMessageError,
)
from fsw.core.events import EVENT_MSG, Event, EventDef, EventLog, Severity
from fsw.core.executive import AppSpec, Executive
from fsw.core.message import Field, Layout, MessageType, apid_of, cmd_msg_id, tm_msg_id
from fsw.core.store import Store, StoreError
from fsw.core.time import Clock, LockstepClock, MonotonicClock, VirtualClock

__all__ = [
    "COMMAND_RESULT_MSG", "EVENT_MSG", "PARAMETER_REPORT_MSG", "App", "AppContext", "AppSpec",
    "AppState", "BusError", "Clock", "CommandError", "ConfigError", "DuplicateMessageError",
    "Event", "EventDef", "EventLog", "Executive", "Field", "Layout", "LockstepClock",
    "MalformedMessageIdError",
    "MessageSizeError", "MessageType", "MonotonicClock", "Parameter", "Pipe", "Reason",
    "Severity", "SoftwareBus", "Stage", "Store", "StoreError", "UnknownMessageError",
    "VirtualClock", "apid_of", "cmd_msg_id", "command", "encode_command", "tm_msg_id",
]
