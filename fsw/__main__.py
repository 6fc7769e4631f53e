"""`python -m fsw` is the `tessera` command."""

import sys

from fsw.cli import main

sys.exit(main())
