"""The ground simulator: orbit, environment, attitude truth, device emulators."""
