"""``python -m agents NAME``: run one agent (the same as ``mango agent NAME``)."""

from __future__ import annotations

import argparse
import sys

from agents import AGENTS, run_agent
from db import settings as settings_mod


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m agents", description="Run one Mango agent until SIGTERM.")
    p.add_argument("name", help=f"agent name ({', '.join(sorted(AGENTS))}) or module:attribute")
    p.add_argument("--database", help="database name (default: from DATABASE_URL, else mango)")
    args = p.parse_args(argv)
    return run_agent(args.name, settings_mod.load(args.database))


if __name__ == "__main__":
    sys.exit(main())
