"""Bus benchmark: events per second through claim/ack, and latency from commit to handler.

``python -m bench.bus`` (or ``make bench``) builds its own database ``mango_bench`` from the
migrations (dropped and rebuilt on every run; no other database is touched), starts real agent
processes running the one bus loop (agents/bus.py) with a batch handler, and measures:

- throughput: N events written in one transaction, then the time until one (or two) agents have
  claimed, handled and acknowledged them all;
- latency: single events enqueued with ``bus.enqueue`` at a steady rate, each in its own
  transaction; the producer notes the wall clock right after each commit, the handler notes it
  when the event reaches it; both run on this machine.

It prints the figures beside the goals (>= 10,000 events/s, p99 < 10 ms) and asserts nothing.
Environment: ``MANGO_BENCH_EVENTS`` (default 60000), ``MANGO_BENCH_RATE`` (events/s, default 200),
``MANGO_BENCH_SECONDS`` (latency run, default 10), ``MANGO_BENCH_BATCH`` (claim size, default 1000),
``MANGO_BENCH_PIPELINE`` (1: the handler's transaction in pipeline mode, the default; 0: not),
``MANGO_BENCH_FILLFACTOR`` (try a fillfactor on bus.events; default: the table as migrated).
"""

from __future__ import annotations

import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from agents.bus import Agent, Event
from bench._common import percentile
from db import bootstrap, migrate
from db import settings as settings_mod
from db.settings import ROOT, Settings

DBNAME = "mango_bench"
TOPIC = "bench"
ROLE = "mango_agent_monitor"  # any agent login role will do; the bench table is granted to all
GOAL_RATE = 10_000.0
GOAL_P99_MS = 10.0


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


# -- the agent the benchmark runs (python -m agents bench.bus:AGENT) -----------------------------


def handle_batch(conn: psycopg.Connection, events: list[Event]) -> Mapping[int, str]:
    """Note when latency probes arrived; throughput events need no work."""
    now = time.time()
    probes = [e.entity for e in events if e.payload.get("probe")]
    if probes:
        conn.execute(
            "insert into bench.arrivals (entity, arrived_at) select e, %s from unnest(%s::text[]) as e",
            [now, probes],
        )
    return {}


AGENT = Agent(
    name="bench",
    role=ROLE,
    topics=(TOPIC,),
    handle_batch=handle_batch,
    batch_size=int(_env("MANGO_BENCH_BATCH", 1000)),
    lease_seconds=60,
    pipeline=os.environ.get("MANGO_BENCH_PIPELINE", "1") == "1",
)


# -- the benchmark -------------------------------------------------------------------------------


def build_database() -> Settings:
    s = settings_mod.load(DBNAME)
    print(f"building database {DBNAME} from the migrations …", flush=True)
    bootstrap.ensure_roles(s)
    bootstrap.drop_database(s, DBNAME)
    bootstrap.ensure_database(s, DBNAME)
    migrate.migrate(s, DBNAME)
    with psycopg.connect(s.admin_conninfo(), autocommit=True) as conn:
        conn.execute("create schema bench")
        conn.execute("create table bench.arrivals (entity text primary key, arrived_at float8 not null)")
        conn.execute("grant usage on schema bench to mango_agent")
        conn.execute("grant insert on bench.arrivals to mango_agent")
        fillfactor = os.environ.get("MANGO_BENCH_FILLFACTOR")
        if fillfactor:  # to try a storage setting before proposing it as a migration
            conn.execute(
                sql.SQL("alter table bus.events set (fillfactor = {})").format(sql.Literal(int(fillfactor)))
            )
    return s


def floor_consumer(settings: Settings) -> int:
    """The least a consumer can do: LISTEN, and on each notification claim, note the arrival,
    acknowledge. No heartbeat, no next_wakeup, no lease keeper: the machine's floor for latency."""
    with psycopg.connect(
        settings.role_conninfo(ROLE), autocommit=True, options="-c synchronous_commit=off"
    ) as conn:
        conn.execute("listen mango_bus")
        conn.execute("select bus.heartbeat('bench-floor', 'x', null, %s::int, '{}', 0, 0)", [os.getpid()])
        while True:
            list(conn.notifies(timeout=1.0, stop_after=1))
            rows = conn.execute(
                "select id, revision, entity from bus.claim('floor', %s::text[], 1000, 60)", [[TOPIC]]
            ).fetchall()
            now = time.time()
            if rows:
                with conn.transaction():
                    conn.execute(
                        "insert into bench.arrivals (entity, arrived_at) select e, %s from unnest(%s::text[]) e",
                        [now, [r[2] for r in rows]],
                    )
                    conn.execute(ACK, [[r[0] for r in rows], [r[1] for r in rows]])


ACK = "select bus.ack(%s::bigint[], %s::int[])"


class Agents:
    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int, admin: psycopg.Connection, floor: bool = False) -> None:
        env = dict(os.environ, DATABASE_URL=self.settings.database_url, MANGO_LOG_LEVEL="WARNING")
        command = ["bench.bus", "--floor-consumer"] if floor else ["agents", "bench.bus:AGENT"]
        for _ in range(count):
            log = (self.log_dir / f"bench-agent-{len(self.procs)}.log").open("wb")
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", *command],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 30
        pids = [p.pid for p in self.procs]
        while True:
            row = admin.execute("select count(*) from bus.agents where pid = any(%s)", [pids]).fetchone()
            if row and row[0] == len(pids):
                return
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                raise SystemExit(f"the bench agents did not start; see {self.log_dir}")
            time.sleep(0.05)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []


def throughput(
    settings: Settings, admin: psycopg.Connection, agents: int, events: int, log_dir: Path
) -> float:
    """Events per second for ``agents`` agents draining ``events`` events written at once."""
    admin.execute("vacuum analyze bus.events")
    running = Agents(settings, log_dir)
    running.start(agents, admin)
    try:
        with admin.transaction():
            admin.execute(
                "insert into bus.events (topic, entity, payload) "
                "select %s, 'tp-' || g, '{}' from generate_series(1, %s) g "
                "on conflict (topic, entity) do update set revision = bus.events.revision + 1",
                [TOPIC, events],
            )
            admin.execute("select pg_notify('mango_bus', %s)", [TOPIC])
        started = time.perf_counter()
        deadline = time.monotonic() + 120
        while admin.execute(
            "select exists (select from bus.events where topic = %s)", [TOPIC]
        ).fetchone() == (True,):
            if time.monotonic() > deadline:
                raise SystemExit("throughput run did not finish in 120 s")
            time.sleep(0.005)
        return events / (time.perf_counter() - started)
    finally:
        running.stop()


def latency(
    settings: Settings,
    admin: psycopg.Connection,
    agents: int,
    rate: float,
    seconds: float,
    log_dir: Path,
    floor: bool = False,
) -> list[float]:
    """Milliseconds from each probe's commit to its handler, at ``rate`` probes per second."""
    admin.execute("truncate bench.arrivals")
    admin.execute("vacuum analyze bus.events")
    running = Agents(settings, log_dir)
    running.start(agents, admin, floor=floor)
    committed: dict[str, float] = {}
    try:
        with psycopg.connect(settings.role_conninfo("mango_agent_scheduler"), autocommit=True) as producer:
            count = int(rate * seconds)
            interval = 1.0 / rate
            next_at = time.perf_counter()
            for i in range(count):
                entity = f"lat-{'floor' if floor else agents}-{i}"
                producer.execute(
                    "select bus.enqueue(%s, %s, %s::jsonb)", [TOPIC, entity, Jsonb({"probe": True})]
                )
                committed[entity] = time.time()
                next_at += interval
                pause = next_at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
        deadline = time.monotonic() + 30
        while True:
            row = admin.execute("select count(*) from bench.arrivals").fetchone()
            if row and row[0] >= len(committed):
                break
            if time.monotonic() > deadline:
                raise SystemExit("not every latency probe arrived within 30 s")
            time.sleep(0.05)
        arrivals: dict[str, float] = dict(
            admin.execute("select entity, arrived_at from bench.arrivals").fetchall()
        )
        return [(arrivals[e] - t) * 1000 for e, t in committed.items()]
    finally:
        running.stop()


def main() -> int:
    if sys.argv[1:] == ["--floor-consumer"]:
        return floor_consumer(settings_mod.load())
    events = int(_env("MANGO_BENCH_EVENTS", 60_000))
    rate = _env("MANGO_BENCH_RATE", 200)
    seconds = _env("MANGO_BENCH_SECONDS", 10)
    settings = build_database()
    log_dir = settings.var_dir / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str, str]] = []
    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as admin:
        version = admin.execute("show server_version").fetchone()
        results: dict[str, Any] = {}
        for agents in (1, 2):
            print(f"throughput: {events:,} events, {agents} agent(s) …", flush=True)
            results[f"tp{agents}"] = throughput(settings, admin, agents, events, log_dir)
        for agents in (1, 2):
            print(f"latency: {rate:g} events/s for {seconds:g} s, {agents} agent(s) …", flush=True)
            results[f"lat{agents}"] = latency(settings, admin, agents, rate, seconds, log_dir)
        print("latency floor: a bare LISTEN + claim loop, for comparison …", flush=True)
        results["floor"] = latency(settings, admin, 1, rate, seconds, log_dir, floor=True)
        load = os.getloadavg()

    def verdict(ok: bool) -> str:
        return "meets goal" if ok else "BELOW GOAL"

    for agents in (1, 2):
        value = results[f"tp{agents}"]
        rows.append(
            (
                f"throughput, {agents} agent{'s' if agents > 1 else ''}",
                f"{value:,.0f} events/s",
                f">= {GOAL_RATE:,.0f} events/s",
                verdict(value >= GOAL_RATE),
            )
        )
    for which in ("1", "2", "floor"):
        lat = results[f"lat{which}" if which != "floor" else "floor"]
        label = (
            f"latency, {which} agent{'s' if which == '2' else ''}"
            if which != "floor"
            else "latency floor (bare LISTEN + claim)"
        )
        rows.append((f"{label}: p50", f"{statistics.median(lat):.2f} ms", "", ""))
        rows.append(
            (
                f"{label}: p99",
                f"{percentile(lat, 99):.2f} ms",
                f"< {GOAL_P99_MS:g} ms" if which != "floor" else "",
                verdict(percentile(lat, 99) < GOAL_P99_MS) if which != "floor" else "(reference)",
            )
        )
        rows.append((f"{label}: max", f"{max(lat):.2f} ms", "", ""))

    print()
    print(
        f"Mango bus benchmark: PostgreSQL {version[0] if version else '?'}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, Python {platform.python_version()}"
    )
    print(
        f"claim batch {AGENT.batch_size}; {events:,} events per throughput run; "
        f"latency probes {rate:g}/s for {seconds:g} s, one transaction each"
    )
    widths = [max(len(r[i]) for r in [("measure", "result", "goal", ""), *rows]) for i in range(4)]
    header = ("measure", "result", "goal", "")
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join(
                cell.ljust(w) if i != 1 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
