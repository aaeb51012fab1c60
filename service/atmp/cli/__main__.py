"""`python -m atmp.cli` is the `atmp` command."""

import sys

from atmp.cli import main

sys.exit(main())
