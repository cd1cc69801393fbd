"""``python -m mango``: the same as the `mango` command."""

import sys

from mango.cli import main

sys.exit(main())
