"""What the benchmarks share: a progress line with the time, a percentile, and whether a database
exists."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import psycopg

from db.settings import Settings


def log(message: str) -> None:
    """Print a progress line, prefixed with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered) / 100) - 1)]


def db_exists(settings: Settings, name: str) -> bool:
    """Whether the cluster has a database of this name."""
    with psycopg.connect(settings.admin_conninfo("postgres"), autocommit=True) as conn:
        return conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone() is not None
