"""DosimeterApp: uni-a's dose-rate counter. It may import only `fsw.payload` and the
standard library."""

import random

from fsw.payload import PayloadApp, on_command

# A quiet low-Earth-orbit background, in uGy/h (a few hundred uGy/day behind 1 mm of Al).
BACKGROUND_UGY_H = 12.0


class DosimeterApp(PayloadApp):
    def init(self):
        self.count = 0
        self.gain = 1.0
        self.total_ugy = 0.0
        self.noise = random.Random(0x104)  # counting statistics, repeatable

    def execute(self):
        self.count += 1
        rate = max(0.0, self.noise.gauss(BACKGROUND_UGY_H, 2.0)) * self.gain
        self.total_ugy += rate / 3600.0
        self.publish("DoseReport", count=self.count, dose_rate=rate, total_dose=self.total_ugy,
                     gain=self.gain)

    @on_command("SET_GAIN")
    def set_gain(self, gain):
        self.gain = gain
        self.event(f"gain set to {gain}")
