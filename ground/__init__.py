"""Ground segment and simulator."""

# First of all: `hal` decides whether the compiled modules (of every layer) or
# their Python source run (hal/_compiled.py), before any of them is imported.
import hal  # noqa: F401
