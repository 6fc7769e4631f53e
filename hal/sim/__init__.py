"""The `sim` backend: buses whose targets are register-level emulators.

The simulator builds the buses, attaches emulators at their addresses, drives
them with truth each step, and hands the buses to the flight configuration.
"""

from hal.sim.emulator import I2CTarget, RegisterTarget, ScriptedTarget
from hal.sim.i2c import SimI2C

__all__ = ["I2CTarget", "RegisterTarget", "ScriptedTarget", "SimI2C"]
