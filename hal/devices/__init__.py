"""Device drivers. Each speaks only registers and bytes through a `hal.busio`
interface, so the same code runs in flight, in simulation and on a bench."""
