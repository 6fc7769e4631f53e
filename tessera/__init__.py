"""The `tessera` command: a thin dispatcher above every layer (fsw, hal, ground, hil)."""
