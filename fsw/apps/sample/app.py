"""Sample app: scales a commanded input by a gain parameter every cycle, and shows
every part of an app.

The input is set by command 10 (SET_INPUT); each cycle, while the output is
enabled (command 11), the app publishes ``SampleOutput`` with the input
times the ``gain`` parameter. Read this file top to bottom to learn the shape:

- the class attributes declare identity (NAME, APID), housekeeping fields,
  telemetry, parameters and events; the base class registers them on the bus
  and subscribes the command pipe; ids come from `fsw.core.ids`;
- ``init`` sets up state (and would subscribe to other apps' messages with
  ``self.bus.subscribe``); ``execute`` is one cycle;
- ``@command`` methods are the command handler, one method per function code;
- ``housekeeping_values`` fills the app's own housekeeping fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fsw.core import (
    App,
    CommandError,
    EventDef,
    Field,
    MessageType,
    Parameter,
    Reason,
    Severity,
    command,
)
from fsw.core.ids import SAMPLE_APID, SAMPLE_OUTPUT_APID
from fsw.core.message import tm_msg_id

# A second telemetry stream besides housekeeping: the app's output each cycle.
SAMPLE_OUTPUT = MessageType("SampleOutput", tm_msg_id(SAMPLE_OUTPUT_APID), [
    Field("cycle", "I"),
    Field("scaled_value", "f", doc="latest input times the gain"),
], doc="Produced by the sample app every cycle")

# Events: id (from 10; 1-9 are the base class's), severity, text format, squelch.
EV_STARTED = EventDef(10, "STARTED", Severity.INFO, "sample app initialised, output {state}")
EV_OUTPUT = EventDef(11, "OUTPUT", Severity.INFO, "output {state}", burst=5, rate_hz=1.0)


class SampleApp(App):
    NAME = "sample"
    APID = SAMPLE_APID
    HK_FIELDS = (
        Field("cycles", "I", doc="cycles run since start"),
        Field("gain", "f", doc="current gain parameter"),
        Field("enabled", "?", doc="whether the output is being produced"),
        # A calibrated field: the output as a 16-bit count, 0.01 per count on the ground,
        # with limits the ground checks (and raises its own events on).
        Field("output_cnt", "h", "units", "latest output, saturated to 16 bits",
              poly=(0.0, 0.01), warn=(-100.0, 100.0), crit=(-300.0, 300.0)),
    )
    TELEMETRY = (SAMPLE_OUTPUT,)
    PARAMETERS = (Parameter("gain", "f", default=1.0, low=0.0, high=100.0,
                            doc="factor applied to the input"),)
    EVENTS = (EV_STARTED, EV_OUTPUT)

    # -- init -------------------------------------------------------------
    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        self.cycles = 0
        self.enabled = bool(self.config.get("enabled", True))
        self.latest_input = 0.0

    def init(self) -> None:
        self.event(EV_STARTED, state="on" if self.enabled else "off")

    # -- main loop ----------------------------------------------------------
    def execute(self) -> None:
        self.cycles += 1
        if self.enabled and self.TELEMETRY:  # a subclass may fly without the output stream
            self.publish(SAMPLE_OUTPUT, cycle=self.cycles,
                         scaled_value=self.latest_input * self.params["gain"])

    # -- command handler ------------------------------------------------------
    @command(10, Field("value", "f", low=-1e6, high=1e6))
    def set_input(self, value: float) -> None:
        """Set the input value the app scales."""
        self.latest_input = value

    @command(11, Field("enabled", "B", low=0, high=1))
    def enable_output(self, enabled: int) -> None:
        """Turn the output stream on (1) or off (0)."""
        if bool(enabled) == self.enabled:
            raise CommandError(Reason.NOT_ALLOWED_NOW, "output already in that state")
        self.enabled = bool(enabled)
        self.event(EV_OUTPUT, state="on" if self.enabled else "off")

    # -- housekeeping -----------------------------------------------------------
    def housekeeping_values(self) -> Mapping[str, Any]:
        output = self.latest_input * self.params["gain"] * 100.0 if self.enabled else 0.0
        return {"cycles": self.cycles, "gain": self.params["gain"], "enabled": self.enabled,
                "output_cnt": int(max(-32768.0, min(32767.0, round(output))))}
