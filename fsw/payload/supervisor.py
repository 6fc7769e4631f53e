"""The supervision policy for one payload app: measure, throttle, stop, restart, disable.

Pure decisions over measurements, so the policy is testable on its own;
the payload host takes the measurements (/proc, the bridge counters, the
private directory) and carries out the actions.

- A resource over its quota in one supervision period (1 s) is throttled
  (the host pauses a CPU hog for the next period, which then neither
  earns nor clears a CPU strike; it drops messages over the
  rate and telemetry over the daily downlink budget) and earns a strike;
  `STRIKES_TO_STOP` periods over in a row stop the app. Storage over quota
  stops it at once (the directory cannot be throttled).
- A crash (the process ended while it should run) schedules a restart after
  a backoff that doubles from `BACKOFF_S`; `CRASHES_TO_DISABLE` crashes
  within `CRASH_WINDOW_S` disable the app until it is commanded to start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from fsw.payload.manifest import Resources

STRIKES_TO_STOP = 3
BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
CRASHES_TO_DISABLE = 3
CRASH_WINDOW_S = 60.0


class Action(Enum):
    NONE = "none"
    THROTTLE = "throttle"
    STOP = "stop"
    RESTART = "restart"
    DISABLE = "disable"


@dataclass
class Measurement:
    """One supervision period of one app."""

    period_s: float
    cpu_s: float  # CPU time used in the period
    rss_kib: int
    storage_bytes: int
    messages_over: int  # publishes dropped for exceeding messages_per_s
    downlink_over: int  # telemetry bytes dropped for exceeding the daily budget
    paused: bool = False  # the host held the app stopped in this period (CPU throttle)
    storage_files: int = 0


@dataclass
class Verdict:
    action: Action
    why: str = ""
    cpu_percent: float = 0.0
    delay_s: float = 0.0  # RESTART: how long to wait first


@dataclass
class Supervisor:
    """Strikes, crash history and backoff of one app."""

    resources: Resources
    strikes: dict[str, int] = field(default_factory=dict)
    crashes: list[float] = field(default_factory=list)
    backoff_s: float = BACKOFF_S

    def assess(self, m: Measurement) -> Verdict:
        """What to do after one period."""
        cpu_percent = 100.0 * m.cpu_s / m.period_s if m.period_s > 0 else 0.0
        quota_bytes = self.resources.storage_kib * 1024
        if m.storage_bytes > quota_bytes:  # the host refuses such writes: only a new
            # version with a smaller quota, or files put there by hand, get here
            return Verdict(Action.STOP, f"storage {m.storage_bytes} B over its quota of "
                                        f"{quota_bytes} B", cpu_percent)
        if m.storage_files > self.resources.storage_files:
            return Verdict(Action.STOP, f"storage {m.storage_files} files over its quota of "
                                        f"{self.resources.storage_files}", cpu_percent)
        over = {
            "cpu": (cpu_percent > self.resources.cpu_percent,
                    f"CPU {cpu_percent:.0f}% over its {self.resources.cpu_percent:g}% share"),
            "messages": (m.messages_over > 0, f"{m.messages_over} messages over "
                                             f"{self.resources.messages_per_s}/s dropped"),
            "downlink": (m.downlink_over > 0, f"{m.downlink_over} B over the daily downlink "
                                             f"budget of {self.resources.downlink_bytes_per_day}"
                                             " B dropped"),
        }
        worst = Verdict(Action.NONE, "", cpu_percent)
        for key, (is_over, text) in over.items():
            if key == "cpu" and m.paused:
                continue  # a paused period says nothing about the app's appetite
            if not is_over:
                self.strikes[key] = 0
                continue
            self.strikes[key] = self.strikes.get(key, 0) + 1
            if self.strikes[key] >= STRIKES_TO_STOP:
                return Verdict(Action.STOP, f"{text} for {STRIKES_TO_STOP} s", cpu_percent)
            if worst.action is Action.NONE:
                worst = Verdict(Action.THROTTLE, text, cpu_percent)
        return worst

    def crashed(self, now_s: float) -> Verdict:
        """The app ended by itself: restart later, or disable a crash loop."""
        self.crashes = [t for t in self.crashes if now_s - t < CRASH_WINDOW_S] + [now_s]
        if len(self.crashes) >= CRASHES_TO_DISABLE:
            return Verdict(Action.DISABLE, f"{len(self.crashes)} crashes in "
                                           f"{CRASH_WINDOW_S:g} s: crash loop")
        delay = self.backoff_s
        self.backoff_s = min(self.backoff_s * 2, MAX_BACKOFF_S)
        return Verdict(Action.RESTART, f"restart in {delay:g} s", delay_s=delay)

    def reset(self) -> None:
        """A commanded start forgets the past."""
        self.strikes.clear()
        self.crashes.clear()
        self.backoff_s = BACKOFF_S
