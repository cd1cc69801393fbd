"""``python -m agents.flowcollector``: run the flow collector (the same as ``mango agent flowcollector``)."""

from __future__ import annotations

import argparse
import sys

from agents.flowcollector import main as run
from db import settings as settings_mod


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m agents.flowcollector", description=__doc__)
    p.add_argument("--database", help="database name (default: from DATABASE_URL, else mango)")
    args = p.parse_args(argv)
    return run(settings_mod.load(args.database))


if __name__ == "__main__":
    sys.exit(main())
