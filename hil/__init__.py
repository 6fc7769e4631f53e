"""The hardware-in-the-loop bench (docs/hil.md).

The flight computer runs the real executive with the `tunnel` HAL backend
(`hal.tunnel`); this package is the other end of the serial cable: the
ground simulator and the reference emulators answer its bus transactions
(`hil.world`, `hil.server`), scenarios say what happens and what must hold
(`hil.scenario`), and `hil.report` writes the HTML and JUnit results.
"""
