"""The one bus loop every agent runs.

An agent is a name, the topics it handles and a handler; :class:`Runner` does the rest:

- connects as the agent's login role (``mango_agent_<name>``), ``LISTEN``s on its channels
  (``mango_bus`` unless the agent says otherwise) on an autocommit connection;
- drains the outbox on start, after every notification and at least every few seconds: claims
  events in batches with ``bus.claim`` (a lease), hands them to the handler and, in the same
  transaction as the handler's own writes, acknowledges them with ``bus.ack`` (by revision: an
  event that changed while it was handled stays and is handled again) or reports failures with
  ``bus.fail`` (retry with backoff, dead after ``max_attempts``);
- waits for a notification at most until ``bus.next_wakeup`` (an event in backoff, or a lease that
  expires) or the poll interval;
- extends the lease of a batch that takes long, beats ``bus.heartbeat`` every few seconds with
  its counts, reconnects with exponential backoff when the database goes away, and stops cleanly
  on SIGTERM/SIGINT after the event it is handling (claimed events it did not start are released);
- logs JSON lines and exposes Prometheus metrics on ``MANGO_METRICS_PORT_<NAME>`` when set.

Handlers must be idempotent. A handler runs inside the transaction that acknowledges its events,
so what it writes to the database commits exactly when the event is acknowledged; but an agent can
die after a handler touched the outside world (a router, a mail server) and before that commit,
and then the event is handled again when its lease expires. A handler therefore makes the outside
world match the event's entity as it is now, rather than applying a difference.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from prometheus_client import Counter, Histogram, start_http_server
from psycopg import sql

from db.settings import Settings

log = logging.getLogger("mango.agents")

EVENTS_HANDLED = Counter("mango_bus_events_handled", "Events handled and acknowledged.", ["agent"])
EVENTS_FAILED = Counter("mango_bus_events_failed", "Events whose handler failed.", ["agent"])
EVENTS_DEAD = Counter("mango_bus_events_dead", "Events parked as dead after too many attempts.", ["agent"])
BATCH_SECONDS = Histogram(
    "mango_bus_batch_seconds",
    "Time to handle and acknowledge one claimed batch.",
    ["agent"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RECONNECTS = Counter("mango_bus_reconnects", "Times the agent lost its database connection.", ["agent"])

CLAIM_SQL = (
    "select id, topic, entity, revision, payload, attempts, created_at, updated_at "
    "from bus.claim(%s, %s::text[], %s::int, %s::int)"
)
ACK_SQL = "select bus.ack(%s::bigint[], %s::int[])"
FAIL_SQL = "select bus.fail(%s::bigint, %s::int, %s::text, %s::int)"
RELEASE_SQL = "select bus.release(%s::bigint[], %s::text)"
WAKEUP_SQL = "select extract(epoch from bus.next_wakeup(%s::text[]) - clock_timestamp())::float8"
HEARTBEAT_SQL = "select bus.heartbeat(%s, %s, %s, %s::int, %s::text[], %s::bigint, %s::bigint)"
EXTEND_SQL = "select bus.extend_lease(%s::bigint[], %s::text, %s::int)"
# Every agent session is in the zone of the business day (the operators', crm.business_zone), as the
# web client's are: `current_date` and the times it reads agree with crm.business_date.
BUSINESS_ZONE_SQL = "select set_config('TimeZone', crm.session_zone(), false)"


@dataclass(frozen=True, slots=True)
class Event:
    """One claimed outbox row: the latest state of (topic, entity) and how often it was tried."""

    id: int
    topic: str
    entity: str
    revision: int
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    updated_at: datetime


EventHandler = Callable[[psycopg.Connection, Event], None]
# A batch handler returns the events it could not handle ({event id: error}); the rest are done.
BatchHandler = Callable[[psycopg.Connection, list[Event]], Mapping[int, str] | None]
# Extra work on every wake-up (the scheduler runs jobs here); returns the seconds until it wants
# to be called again, or None for the poll interval.
Tick = Callable[["Runner"], float | None]


@dataclass(frozen=True)
class Agent:
    """What an agent is: give exactly one of ``handle`` (per event) or ``handle_batch``, or none
    with a ``tick`` for an agent that does not consume bus events."""

    name: str
    topics: tuple[str, ...] = ()
    handle: EventHandler | None = None
    handle_batch: BatchHandler | None = None
    tick: Tick | None = None
    channels: tuple[str, ...] = ("mango_bus",)
    role: str | None = None
    batch_size: int = 100
    lease_seconds: int = 60
    max_attempts: int = 10
    poll_seconds: float = 3.0
    heartbeat_seconds: float = 5.0
    # Claims and acknowledgements are committed without waiting for the WAL flush: a claim lost in
    # a crash of the database only means the event can be claimed again, and an acknowledgement is
    # lost together with the handler's writes of the same transaction (asynchronous commit keeps
    # transactions whole and in order), so the event is simply handled again. An agent whose
    # writes must be durable before it acts on the outside world sets this to True.
    synchronous_commit: bool = False
    # A batch handler's transaction (begin, its statements, the acknowledgement, commit) is sent in
    # pipeline mode: one round trip instead of four when the handler does not wait for results.
    # Only for batch handlers that do not read a statement's rowcount before the block ends.
    pipeline: bool = False

    def __post_init__(self) -> None:
        if self.handle is not None and self.handle_batch is not None:
            raise ValueError(f"agent {self.name}: give handle or handle_batch, not both")
        if self.topics and self.handle is None and self.handle_batch is None:
            raise ValueError(f"agent {self.name}: topics without a handler")
        if self.lease_seconds < 1:
            raise ValueError(f"agent {self.name}: the lease must be at least a second")

    @property
    def login_role(self) -> str:
        return self.role or f"mango_agent_{self.name}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update(fields)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def configure_logging() -> None:
    """Log JSON lines to standard error, at ``MANGO_LOG_LEVEL`` (default INFO)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(
        level=os.environ.get("MANGO_LOG_LEVEL", "INFO").upper(), handlers=[handler], force=True
    )


def _log(level: int, msg: str, **fields: Any) -> None:
    log.log(level, msg, extra={"fields": fields})


def error_text(exc: BaseException) -> str:
    """How a handler's failure is recorded in ``bus.events.last_error``."""
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        return f"{type(exc).__name__}: {exc.diag.message_primary}"
    return f"{type(exc).__name__}: {exc}"


def metrics_port(name: str) -> int | None:
    """``MANGO_METRICS_PORT_<NAME>`` (upper case, other characters as ``_``), or None."""
    key = "MANGO_METRICS_PORT_" + "".join(c if c.isalnum() else "_" for c in name.upper())
    value = os.environ.get(key)
    return int(value) if value else None


class Runner:
    """Runs one agent until it is told to stop. Used from the main thread of its process."""

    def __init__(self, agent: Agent, settings: Settings, conninfo: str | None = None) -> None:
        self.agent = agent
        self.settings = settings
        self.conninfo = conninfo or settings.role_conninfo(agent.login_role)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.instance = f"{self.host}:{self.pid}"
        # What the events claimed by this process carry in bus.events.claimed_by.
        self.claimer = f"{agent.name}@{self.instance}"
        self.handled = 0
        self.failed = 0
        self._conn: psycopg.Connection | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._batch: list[int] = []
        self._batch_renewed = 0.0
        self._topics = list(agent.topics)
        self._interrupted: list[int] = []

    # -- public API for ticks and handlers --------------------------------------------------

    @property
    def conn(self) -> psycopg.Connection:
        """The agent's working connection (autocommit; use ``conn.transaction()``)."""
        if self._conn is None:
            raise RuntimeError("the agent is not connected")
        return self._conn

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, *_: object) -> None:
        """Ask the loop to stop after the event it is handling."""
        self._stop.set()

    def connect(self, purpose: str = "side", autocommit: bool = True) -> psycopg.Connection:
        """Another connection as the agent's role (progress reports, heartbeats), in the
        business day's time zone like the web client's (see BUSINESS_ZONE_SQL)."""
        conn = psycopg.connect(
            self.conninfo,
            autocommit=autocommit,
            options="-c synchronous_commit=" + ("on" if self.agent.synchronous_commit else "off"),
            application_name=f"mango-agent-{self.agent.name}-{purpose}"[:63],
            connect_timeout=10,
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        )
        try:
            conn.execute(BUSINESS_ZONE_SQL)
            if not autocommit:
                conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (or :meth:`stop`); reconnect with backoff. Returns 0."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        port = metrics_port(self.agent.name)
        if port:
            start_http_server(port, addr=os.environ.get("MANGO_METRICS_ADDR", "127.0.0.1"))
        keeper = threading.Thread(target=self._keeper, name="keeper", daemon=True)
        keeper.start()
        _log(
            logging.INFO,
            "agent starting",
            agent=self.agent.name,
            instance=self.instance,
            topics=self._topics,
            channels=list(self.agent.channels),
            metrics_port=port,
        )
        delay = 0.5
        try:
            while not self.stopping:
                try:
                    self._conn = self.connect("main")
                    self._listen()
                    delay = 0.5
                    self._serve()
                except psycopg.Error as exc:
                    RECONNECTS.labels(self.agent.name).inc()
                    _log(
                        logging.WARNING,
                        "database error, reconnecting",
                        agent=self.agent.name,
                        error=error_text(exc),
                        retry_in=round(delay, 2),
                    )
                    self._close()
                    self._stop.wait(delay * random.uniform(0.8, 1.2))
                    delay = min(delay * 2, 30.0)
                except Exception:
                    # A bug in a tick or in the agent's set-up: keep the process, retry later.
                    log.exception(
                        "agent error, restarting the loop", extra={"fields": {"agent": self.agent.name}}
                    )
                    self._close()
                    self._stop.wait(delay * random.uniform(0.8, 1.2))
                    delay = min(delay * 2, 30.0)
        finally:
            self._close()
            self._done.set()
            keeper.join(timeout=10)
        _log(logging.INFO, "agent stopped", agent=self.agent.name, handled=self.handled, failed=self.failed)
        return 0

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _listen(self) -> None:
        conn = self.conn
        for channel in self.agent.channels:
            conn.execute(sql.SQL("listen {}").format(sql.Identifier(channel)))
        conn.execute(HEARTBEAT_SQL, self._heartbeat_params())
        if self._interrupted:
            conn.execute(RELEASE_SQL, [self._interrupted, self.claimer])
            self._interrupted = []
        _log(logging.INFO, "listening", agent=self.agent.name, role=self.agent.login_role)

    def _serve(self) -> None:
        while not self.stopping:
            self._drain()
            if self.stopping:
                break
            timeout = self.agent.poll_seconds
            if self.agent.tick is not None:
                wanted = self.agent.tick(self)
                timeout = min(timeout, wanted if wanted is not None else timeout)
            if self._topics:
                row = self.conn.execute(WAKEUP_SQL, [self._topics]).fetchone()
                if row is not None and row[0] is not None:
                    timeout = min(timeout, float(row[0]))
            self._wait(max(timeout, 0.02))

    def _wait(self, timeout: float) -> bool:
        """Wait for a notification at most ``timeout`` seconds; wake early to stop."""
        deadline = time.monotonic() + timeout
        while not self.stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if list(self.conn.notifies(timeout=min(remaining, 0.5), stop_after=1)):
                return True
        return False

    def _drain(self) -> None:
        """Claim and handle batches until the outbox has nothing more for us right now."""
        if not self._topics:
            return
        size = self.agent.batch_size
        while not self.stopping:
            rows = self.conn.execute(
                CLAIM_SQL, [self.claimer, self._topics, size, self.agent.lease_seconds]
            ).fetchall()
            if not rows:
                return
            events = [Event(*row) for row in rows]
            started = time.perf_counter()
            with self._lock:
                self._batch = [e.id for e in events]
                self._batch_renewed = time.monotonic()
            try:
                self._process(events)
            finally:
                with self._lock:
                    self._batch = []
            BATCH_SECONDS.labels(self.agent.name).observe(time.perf_counter() - started)
            if len(rows) < size:
                return

    def _process(self, events: list[Event]) -> None:
        """Handle a batch in one transaction with its acknowledgement; isolate failures."""
        conn = self.conn
        pipelined = self.agent.pipeline and self.agent.handle_batch is not None
        try:
            with conn.pipeline() if pipelined else nullcontext(), conn.transaction():
                failures, released = self._call(events)
                self._settle(conn, events, failures, released)
        except Exception as exc:
            if conn.broken or conn.closed:
                # Our own connection is gone: reconnect, then give these events back at once.
                self._interrupted = [e.id for e in events]
                raise
            if len(events) == 1:
                with conn.transaction():
                    self._settle(conn, events, {events[0].id: error_text(exc)}, [])
                self._log_failure(events[0], exc)
                return
            # One bad event must not hold back the others: handle them one by one.
            for i, event in enumerate(events):
                if self.stopping:
                    rest = [e.id for e in events[i:]]
                    conn.execute(RELEASE_SQL, [rest, self.claimer])
                    return
                try:
                    self._process([event])
                except Exception:
                    self._interrupted = [e.id for e in events[i:]]
                    raise

    def _call(self, events: list[Event]) -> tuple[dict[int, str], list[int]]:
        if self.agent.handle_batch is None:
            return self._each(events)
        return dict(self.agent.handle_batch(self.conn, events) or {}), []

    def _each(self, events: list[Event]) -> tuple[dict[int, str], list[int]]:
        failures: dict[int, str] = {}
        handler = self.agent.handle
        assert handler is not None
        conn = self.conn
        for i, event in enumerate(events):
            if self.stopping:
                return failures, [e.id for e in events[i:]]
            try:
                with conn.transaction():  # a savepoint: a failure undoes this event only
                    handler(conn, event)
            except Exception as exc:
                if conn.broken or conn.closed:
                    raise
                failures[event.id] = error_text(exc)
                self._log_failure(event, exc)
        return failures, []

    def _settle(
        self,
        conn: psycopg.Connection,
        events: Sequence[Event],
        failures: Mapping[int, str],
        released: list[int],
    ) -> None:
        skip = set(failures) | set(released)
        done = [e for e in events if e.id not in skip]
        if done:
            conn.execute(ACK_SQL, [[e.id for e in done], [e.revision for e in done]])
        for event in events:
            if event.id in failures:
                row = conn.execute(
                    FAIL_SQL, [event.id, event.revision, failures[event.id], self.agent.max_attempts]
                ).fetchone()
                if row is not None and row[0] == "dead":
                    EVENTS_DEAD.labels(self.agent.name).inc()
                    _log(
                        logging.ERROR,
                        "event is dead",
                        agent=self.agent.name,
                        event=event.id,
                        topic=event.topic,
                        entity=event.entity,
                        attempts=event.attempts,
                        error=failures[event.id],
                    )
        if released:
            conn.execute(RELEASE_SQL, [released, self.claimer])
        self.handled += len(done)
        self.failed += len(failures)
        if done:
            EVENTS_HANDLED.labels(self.agent.name).inc(len(done))
        if failures:
            EVENTS_FAILED.labels(self.agent.name).inc(len(failures))

    def _log_failure(self, event: Event, exc: BaseException) -> None:
        _log(
            logging.WARNING,
            "handler failed",
            agent=self.agent.name,
            event=event.id,
            topic=event.topic,
            entity=event.entity,
            revision=event.revision,
            attempts=event.attempts,
            error=error_text(exc),
        )

    # -- heartbeat and lease keeper (own thread, own connection) ------------------------------

    def _heartbeat_params(self) -> list[Any]:
        return [self.agent.name, self.instance, self.host, self.pid, self._topics, self.handled, self.failed]

    def _keeper(self) -> None:
        lease = self.agent.lease_seconds
        interval = min(self.agent.heartbeat_seconds, lease / 3)
        conn: psycopg.Connection | None = None
        last_beat = time.monotonic()
        while not self._done.wait(interval):
            try:
                if conn is None or conn.closed:
                    conn = self.connect("keeper")
                with self._lock:
                    ids = list(self._batch)
                    due = ids and time.monotonic() - self._batch_renewed >= lease / 3
                if due:
                    conn.execute(EXTEND_SQL, [ids, self.claimer, lease])
                    with self._lock:
                        self._batch_renewed = time.monotonic()
                if time.monotonic() - last_beat >= self.agent.heartbeat_seconds:
                    conn.execute(HEARTBEAT_SQL, self._heartbeat_params())
                    last_beat = time.monotonic()
            except psycopg.Error as exc:
                _log(logging.WARNING, "keeper: database error", agent=self.agent.name, error=error_text(exc))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
