"""The NetFlow v5/v9 and IPFIX collector (``mango agent flowcollector``).

Not a bus agent: a UDP receiver that decodes flow records (:mod:`.parser`) and writes them with
binary COPY into the daily partitions of ``flow.flows`` and ``flow.nat_events``, spooling to disk
while the database is away (:mod:`.collector`).
"""

from __future__ import annotations

from db.settings import Settings


def main(settings: Settings) -> int:
    """Run the collector until SIGTERM; the exit code."""
    from agents.flowcollector.collector import main as run

    return run(settings)


__all__ = ["main"]
