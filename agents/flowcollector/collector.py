"""The flow collector process: UDP receiver, writer with binary COPY, disk spool.

Receiving and writing are decoupled. The receiver thread owns the socket (a large receive buffer),
reads datagrams in bursts, decodes them into binary COPY rows and puts them on a bounded in-memory
queue; it never touches the database. The writer thread takes rows from the queue and writes them in
batches (every ``batch_rows`` rows or ``flush_ms`` milliseconds) with binary COPY as the collector's
login role, one transaction per batch.

When the database is away, a batch is written to the spool directory instead (one fsync'ed file per
batch) and the writer reconnects with backoff; while spool files exist, new batches are appended
to the spool too, and the files are replayed in order (each committed, then deleted) once the
database is back. Nothing received is lost unless the queue overflows (counted as dropped).
A batch or a spool file that the database refuses (not a lost connection: the rows themselves) is
counted as rejected and kept in the spool's ``rejected/`` folder, with the database's error in a
``.error`` file beside it, for a person to look at.

Per exporter and observation domain, ``flow.collector_status`` and the metrics count what was
received, stored, dropped, spooled and rejected, the malformed datagrams, the data sets that came
before their template (``unknown_sets``), the records whose time could not be read and got the
export time (``unreadable_times``), and the gaps in the exporters' sequence numbers
(``sequence_gaps``, ``sequence_missing``: see :mod:`.parser` for what each version counts). The
first data set of an unknown template and the first unreadable time of a template are logged.

Configuration (environment): ``MANGO_FLOW_LISTEN`` (``host:port``, default ``127.0.0.1:2055``;
``[::]:2055`` for IPv6), ``MANGO_FLOW_SPOOL`` (default ``var/flowspool``), ``MANGO_FLOW_BATCH_ROWS``,
``MANGO_FLOW_FLUSH_MS``, ``MANGO_FLOW_QUEUE_ROWS``, ``MANGO_FLOW_RCVBUF`` (bytes),
``MANGO_FLOW_INSTANCE`` (the name in ``flow.collector_status``), ``MANGO_METRICS_PORT_FLOWCOLLECTOR``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from prometheus_client import Counter, Gauge, start_http_server

from agents.flowcollector.parser import (
    COPY_HEADER,
    COPY_TRAILER,
    FLOW_COLUMNS,
    NAT_COLUMNS,
    Decoder,
    Malformed,
    Result,
)
from db.settings import Settings

log = logging.getLogger("mango.flowcollector")

ROLE = "mango_agent_flowcollector"
COPY_FLOWS = f"copy flow.flows ({', '.join(FLOW_COLUMNS)}) from stdin with (format binary)"
COPY_NAT = f"copy flow.nat_events ({', '.join(NAT_COLUMNS)}) from stdin with (format binary)"
STATUS_SQL = """
insert into flow.collector_status as s
  (collector, exporter, observation_domain, received, stored, dropped, malformed, spooled, rejected,
   unknown_sets, unreadable_times, sequence_gaps, sequence_missing, sampling_interval, last_seen,
   updated_at)
select %s, e.exporter::inet, e.domain, e.received, e.stored, e.dropped, e.malformed, e.spooled, e.rejected,
       e.unknown_sets, e.unreadable_times, e.sequence_gaps, e.sequence_missing, e.sampling, e.last_seen,
       now()
  from jsonb_to_recordset(%s::jsonb) as e(exporter text, domain bigint, received bigint, stored bigint,
       dropped bigint, malformed bigint, spooled bigint, rejected bigint, unknown_sets bigint,
       unreadable_times bigint, sequence_gaps bigint, sequence_missing bigint, sampling integer,
       last_seen timestamptz)
on conflict (collector, exporter, observation_domain) do update
   set received = excluded.received, stored = excluded.stored, dropped = excluded.dropped,
       malformed = excluded.malformed, spooled = excluded.spooled, rejected = excluded.rejected,
       unknown_sets = excluded.unknown_sets, unreadable_times = excluded.unreadable_times,
       sequence_gaps = excluded.sequence_gaps, sequence_missing = excluded.sequence_missing,
       sampling_interval = excluded.sampling_interval, last_seen = excluded.last_seen, updated_at = now()
"""
SPOOL_MAGIC = b"MANGOFLOWSPOOL1\n"

RECEIVED = Counter("mango_flow_received", "Flow records and NAT events decoded from datagrams.")
STORED = Counter("mango_flow_stored", "Flow records and NAT events committed to the database.")
DROPPED = Counter("mango_flow_dropped", "Records dropped because the queue was full.")
MALFORMED = Counter("mango_flow_malformed", "Datagrams dropped as malformed or truncated.")
SPOOLED = Counter("mango_flow_spooled", "Records written to the disk spool while the database was away.")
PER_EXPORTER = ("exporter", "domain")
REJECTED = Counter(
    "mango_flow_rejected", "Records the database refused, kept in the spool's rejected folder.", PER_EXPORTER
)
UNKNOWN_SETS = Counter(
    "mango_flow_unknown_sets", "Data sets dropped because their template was not known (yet).", PER_EXPORTER
)
UNREADABLE_TIMES = Counter(
    "mango_flow_unreadable_times",
    "Records stored with the export time because their own start or end time could not be read.",
    PER_EXPORTER,
)
SEQUENCE_GAPS = Counter(
    "mango_flow_sequence_gaps",
    "Jumps in an exporter's sequence numbers: datagrams lost on the way.",
    PER_EXPORTER,
)
SEQUENCE_MISSING = Counter(
    "mango_flow_sequence_missing",
    "What the sequence jumps skipped: flows (v5), export packets (v9), data records (IPFIX).",
    PER_EXPORTER,
)
QUEUE_ROWS = Gauge("mango_flow_queue_rows", "Records waiting in memory for the writer.")
SPOOL_FILES = Gauge("mango_flow_spool_files", "Batches waiting in the disk spool.")

Key = tuple[str, int]  # exporter address, observation domain
GAP_LOG_EVERY = 60.0  # seconds between two log lines about sequence gaps of one exporter


@dataclass(frozen=True)
class Config:
    host: str
    port: int
    spool_dir: Path
    batch_rows: int = 50_000
    flush_ms: int = 1000
    queue_rows: int = 2_000_000
    rcvbuf: int = 32 * 1024 * 1024
    instance: str = ""
    status_every: float = 3.0
    partitions_every: float = 3600.0

    @classmethod
    def from_env(cls, settings: Settings) -> Config:
        host, port = parse_listen(os.environ.get("MANGO_FLOW_LISTEN", "127.0.0.1:2055"))
        env = os.environ.get
        return cls(
            host=host,
            port=port,
            spool_dir=Path(env("MANGO_FLOW_SPOOL") or settings.var_dir / "flowspool"),
            batch_rows=int(env("MANGO_FLOW_BATCH_ROWS", "50000")),
            flush_ms=int(env("MANGO_FLOW_FLUSH_MS", "1000")),
            queue_rows=int(env("MANGO_FLOW_QUEUE_ROWS", "2000000")),
            rcvbuf=int(env("MANGO_FLOW_RCVBUF", str(32 * 1024 * 1024))),
            instance=env("MANGO_FLOW_INSTANCE", ""),
        )


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` into (host, port)."""
    value = value.strip()
    if value.startswith("["):
        host, _, port = value[1:].partition("]:")
    else:
        host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"MANGO_FLOW_LISTEN must be host:port, not {value!r}")
    return host, int(port)


@dataclass
class ExporterStats:
    received: int = 0
    stored: int = 0
    dropped: int = 0
    malformed: int = 0
    spooled: int = 0
    rejected: int = 0
    unknown_sets: int = 0
    unreadable_times: int = 0
    sequence_gaps: int = 0
    sequence_missing: int = 0
    sampling: int = 1
    last_seen: float = 0.0


@dataclass
class Batch:
    flows: list[bytes] = field(default_factory=list)
    nat: list[bytes] = field(default_factory=list)
    rows: int = 0
    counts: dict[Key, int] = field(default_factory=dict)

    def add(self, other: Batch) -> None:
        self.flows.extend(other.flows)
        self.nat.extend(other.nat)
        self.rows += other.rows
        for k, v in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + v


class Collector:
    """Receiver and writer threads around one UDP socket; :meth:`run` until :meth:`stop`."""

    def __init__(self, settings: Settings, config: Config) -> None:
        self.settings = settings
        self.config = config
        self.decoder = Decoder()
        self.stats: dict[Key, ExporterStats] = {}
        self.stats_lock = threading.Lock()
        self.queue: deque[Batch] = deque()
        self.queue_rows = 0
        self.queue_cond = threading.Condition()
        self.stopping = threading.Event()
        self.receiver_done = threading.Event()
        self.sock = self._bind()
        self.address = self.sock.getsockname()
        self.instance = config.instance or f"{socket.gethostname()}:{self.address[1]}"
        self.config.spool_dir.mkdir(parents=True, exist_ok=True)
        self._spool_seq = 0
        self.conn: psycopg.Connection | None = None
        self._next_connect = 0.0
        self._backoff = 0.2
        self._last_status = 0.0
        self._last_partitions = 0.0
        # What was logged once: (exporter, domain, template) of unknown sets and unreadable times.
        self._logged: set[tuple[str, str, int, int]] = set()
        self._gaps_logged: dict[Key, float] = {}

    # -- socket ----------------------------------------------------------------------------------
    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        size = self.config.rcvbuf
        force = getattr(socket, "SO_RCVBUFFORCE", 33)
        try:  # beyond net.core.rmem_max, allowed to root (CAP_NET_ADMIN)
            sock.setsockopt(socket.SOL_SOCKET, force, size)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
        sock.bind((self.config.host, self.config.port))
        sock.settimeout(0.2)
        got = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        log.info("receive buffer %d bytes (asked %d)", got, size)
        return sock

    # -- receiver ----------------------------------------------------------------------------------
    def receive_loop(self) -> None:
        sock = self.sock
        burst: list[tuple[bytes, str]] = []
        try:
            while True:
                stopping = self.stopping.is_set()
                try:
                    if stopping:
                        sock.setblocking(False)
                    data, addr = sock.recvfrom(65535)
                except (TimeoutError, BlockingIOError):
                    if stopping:
                        break
                    continue
                burst.append((data, addr[0]))
                sock.setblocking(False)
                try:
                    while len(burst) < 256:
                        data, addr = sock.recvfrom(65535)
                        burst.append((data, addr[0]))
                except BlockingIOError:
                    pass
                finally:
                    sock.settimeout(0.2)
                self._take(burst)
                burst = []
        finally:
            self.receiver_done.set()
            with self.queue_cond:
                self.queue_cond.notify_all()

    def _take(self, burst: list[tuple[bytes, str]]) -> None:
        """Decode a burst of datagrams and queue their rows."""
        batch = Batch()
        now = time.time()
        results: list[tuple[str, Result]] = []
        malformed: dict[str, int] = {}
        i = 0
        while i < len(burst):
            data, host = burst[i]
            j = i + 1
            if data[:2] == b"\x00\x05":  # consecutive v5 datagrams of one exporter decode together
                while j < len(burst) and burst[j][1] == host and burst[j][0][:2] == b"\x00\x05":
                    j += 1
                if j - i > 1:
                    try:
                        results.append((host, self.decoder.decode_v5_many([d for d, _ in burst[i:j]], host)))
                        i = j
                        continue
                    except Malformed:
                        j = i + 1
            try:
                results.append((host, self.decoder.decode(data, host)))
            except Malformed as exc:
                malformed[host] = malformed.get(host, 0) + 1
                log.debug("malformed datagram from %s: %s", host, exc)
            i = j
        for host, r in results:
            n = r.flow_count + r.nat_count
            batch.flows.extend(r.flows)
            batch.nat.extend(r.nat)
            batch.rows += n
            key = (host, r.domain)
            batch.counts[key] = batch.counts.get(key, 0) + n
        with self.queue_cond:
            full = self.queue_rows + batch.rows > self.config.queue_rows
            if not full and batch.rows:
                self.queue.append(batch)
                self.queue_rows += batch.rows
                self.queue_cond.notify()
            QUEUE_ROWS.set(self.queue_rows)
        with self.stats_lock:
            for host, r in results:
                st = self._stat((host, r.domain))
                st.received += r.flow_count + r.nat_count
                st.last_seen = now
                st.sampling = self.decoder.session(host, r.domain).sampling
                if full:
                    st.dropped += r.flow_count + r.nat_count
                st.unknown_sets += r.unknown_sets
                st.unreadable_times += r.untimed
                st.sequence_gaps += r.sequence_gaps
                st.sequence_missing += r.sequence_missing
            for host, count in malformed.items():
                st = self._stat((host, 0))
                st.malformed += count
                st.last_seen = now
        RECEIVED.inc(batch.rows)
        if full:
            DROPPED.inc(batch.rows)
        if malformed:
            MALFORMED.inc(sum(malformed.values()))
        for host, r in results:
            if r.unknown_sets or r.untimed or r.sequence_gaps or r.restarted:
                self._report(host, r)

    def _report(self, host: str, r: Result) -> None:
        """Metrics and log lines for what a datagram's records lack (each log line carries the
        exporter, domain and template or count as fields)."""
        labels = (host, str(r.domain))
        where = {"exporter": host, "domain": r.domain}
        if r.unknown_sets:
            UNKNOWN_SETS.labels(*labels).inc(r.unknown_sets)
        if r.untimed:
            UNREADABLE_TIMES.labels(*labels).inc(r.untimed)
        if r.sequence_gaps:
            SEQUENCE_GAPS.labels(*labels).inc(r.sequence_gaps)
            SEQUENCE_MISSING.labels(*labels).inc(r.sequence_missing)
            now = time.monotonic()
            if now - self._gaps_logged.get((host, r.domain), -GAP_LOG_EVERY) >= GAP_LOG_EVERY:
                self._gaps_logged[(host, r.domain)] = now
                log.warning(
                    "exporter %s domain %d: a gap in its sequence numbers, %d missing (datagrams lost"
                    " before the collector; counted in sequence_gaps, logged at most once a minute)",
                    host, r.domain, r.sequence_missing,
                    extra={"fields": {**where, "kind": "sequence_gap", "missing": r.sequence_missing}},
                )  # fmt: skip
        if r.restarted:
            log.info(
                "exporter %s domain %d started its sequence numbers again (restarted)", host, r.domain,
                extra={"fields": {**where, "kind": "sequence_restart"}},
            )  # fmt: skip
        if len(self._logged) > 10_000:
            self._logged.clear()
        for tid in r.unknown_templates:
            if (host, "unknown_set", r.domain, tid) not in self._logged:
                self._logged.add((host, "unknown_set", r.domain, tid))
                log.warning(
                    "exporter %s domain %d: a data set of template %d came before its template and was"
                    " dropped (counted in unknown_sets; logged once)", host, r.domain, tid,
                    extra={"fields": {**where, "kind": "unknown_set", "template": tid}},
                )  # fmt: skip
        for tid in r.untimed_templates:
            if (host, "unreadable_time", r.domain, tid) not in self._logged:
                self._logged.add((host, "unreadable_time", r.domain, tid))
                log.warning(
                    "exporter %s domain %d: records of template %d have no start or end time the collector"
                    " can read; stored with the export time (counted in unreadable_times; logged once)",
                    host, r.domain, tid,
                    extra={"fields": {**where, "kind": "unreadable_time", "template": tid}},
                )  # fmt: skip

    def _stat(self, key: Key) -> ExporterStats:
        st = self.stats.get(key)
        if st is None:
            st = self.stats[key] = ExporterStats()
        return st

    # -- writer ------------------------------------------------------------------------------------
    def write_loop(self) -> None:
        cfg = self.config
        while True:
            batch = self._gather(cfg.batch_rows, cfg.flush_ms / 1000)
            done = self.receiver_done.is_set() and not self.queue
            if batch.rows:
                self._store(batch)
            self._replay()
            self._housekeeping(final=done)
            if done:
                return

    def _gather(self, rows: int, wait: float) -> Batch:
        batch = Batch()
        deadline = time.monotonic() + wait
        with self.queue_cond:
            while batch.rows < rows:
                if self.queue:
                    b = self.queue.popleft()
                    self.queue_rows -= b.rows
                    batch.add(b)
                    continue
                left = deadline - time.monotonic()
                if left <= 0 or self.receiver_done.is_set():
                    break
                self.queue_cond.wait(min(left, 0.2))
            QUEUE_ROWS.set(self.queue_rows)
        return batch

    def _connection(self) -> psycopg.Connection | None:
        if self.conn is not None and not self.conn.closed:
            return self.conn
        if time.monotonic() < self._next_connect:
            return None
        try:
            self.conn = psycopg.connect(
                self.settings.role_conninfo(ROLE), application_name="mango flowcollector", connect_timeout=5
            )
            self.conn.execute("set synchronous_commit = off")
            self.conn.commit()
            self._backoff = 0.2
            log.info("connected to the database")
            if (
                self._last_partitions == 0.0
                or time.monotonic() - self._last_partitions > self.config.partitions_every
            ):
                self.conn.execute("select flow.create_partitions(2, 1)")
                self.conn.commit()
                self._last_partitions = time.monotonic()
            return self.conn
        except psycopg.Error as exc:
            self._lost(exc)
            return None

    def _lost(self, exc: BaseException) -> None:
        log.warning("database unavailable (%s); spooling, retry in %.1f s", str(exc).strip(), self._backoff)
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg.Error:
                pass
        self.conn = None
        self._next_connect = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, 5.0)

    def _copy(self, conn: psycopg.Connection, flows: Iterator[bytes] | list[bytes], nat: list[bytes]) -> None:
        with conn.cursor() as cur:
            if flows:
                with cur.copy(COPY_FLOWS) as cp:
                    cp.write(COPY_HEADER)
                    for part in _joined(flows):
                        cp.write(part)
                    cp.write(COPY_TRAILER)
            if nat:
                with cur.copy(COPY_NAT) as cp:
                    cp.write(COPY_HEADER)
                    for part in _joined(nat):
                        cp.write(part)
                    cp.write(COPY_TRAILER)
        conn.commit()

    def _store(self, batch: Batch) -> None:
        if not self._spool_files():
            conn = self._connection()
            if conn is not None:
                try:
                    self._copy(conn, batch.flows, batch.nat)
                    self._stored(batch.counts)
                    return
                except psycopg.OperationalError as exc:
                    self._lost(exc)
                except psycopg.Error as exc:
                    if conn.closed or conn.broken:
                        self._lost(exc)
                    else:  # the rows themselves are refused: keep them aside for a person
                        conn.rollback()
                        self._reject(batch, exc)
                        return
        self._spool(batch)

    def _stored(self, counts: dict[Key, int]) -> None:
        with self.stats_lock:
            for key, n in counts.items():
                self._stat(key).stored += n
        STORED.inc(sum(counts.values()))

    def _rejected(self, counts: dict[Key, int]) -> None:
        with self.stats_lock:
            for key, n in counts.items():
                self._stat(key).rejected += n
        for (host, domain), n in counts.items():
            REJECTED.labels(host, str(domain)).inc(n)

    # -- spool -------------------------------------------------------------------------------------
    def _spool_files(self) -> list[Path]:
        files = sorted(self.config.spool_dir.glob("*.bin"))
        SPOOL_FILES.set(len(files))
        return files

    def _spool(self, batch: Batch, directory: Path | None = None) -> Path:
        directory = directory or self.config.spool_dir
        self._spool_seq += 1
        path = write_spool(
            directory / f"{time.time_ns():020d}-{os.getpid()}-{self._spool_seq:08d}.bin", batch
        )
        if directory == self.config.spool_dir:
            with self.stats_lock:
                for key, n in batch.counts.items():
                    self._stat(key).spooled += n
            SPOOLED.inc(batch.rows)
            SPOOL_FILES.set(len(self._spool_files()))
        return path

    def _replay(self) -> None:
        for path in self._spool_files():
            conn = self._connection()
            if conn is None:
                return
            try:
                batch = read_spool(path)
            except (OSError, ValueError) as exc:
                log.error("unreadable spool file %s: %s", path.name, exc)
                path.replace(path.with_suffix(".bad"))
                continue
            try:
                self._copy(conn, batch.flows, batch.nat)
            except psycopg.OperationalError as exc:
                self._lost(exc)
                return
            except psycopg.Error as exc:
                if conn.closed or conn.broken:
                    self._lost(exc)
                    return
                conn.rollback()
                kept = self._set_aside(path, exc)
                self._rejected(batch.counts)
                log.error(
                    "the database refused spool file %s of %d rows (%s); kept as %s",
                    path.name, batch.rows, str(exc).strip(), kept,
                    extra={"fields": {"kind": "rejected", "file": str(kept), "rows": batch.rows}},
                )  # fmt: skip
                continue
            path.unlink()
            self._stored(batch.counts)
            log.info("replayed spool file %s (%d rows)", path.name, batch.rows)
        SPOOL_FILES.set(0)

    def _reject(self, batch: Batch, exc: BaseException) -> None:
        """Keep a batch the database refused in the rejected folder and count it."""
        path = self._spool(batch, self.config.spool_dir / "rejected")
        _write_error(path, exc)
        self._rejected(batch.counts)
        log.error(
            "the database refused a batch of %d rows (%s); kept as %s", batch.rows, str(exc).strip(), path,
            extra={"fields": {"kind": "rejected", "file": str(path), "rows": batch.rows}},
        )  # fmt: skip

    def _set_aside(self, path: Path, exc: BaseException) -> Path:
        """Move a refused spool file into the rejected folder (never replayed again), with the error."""
        directory = self.config.spool_dir / "rejected"
        directory.mkdir(parents=True, exist_ok=True)
        kept = directory / path.name
        path.replace(kept)
        _write_error(kept, exc)
        return kept

    # -- status ------------------------------------------------------------------------------------
    def _housekeeping(self, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last_status < self.config.status_every:
            return
        self._last_status = now
        conn = self._connection()
        if conn is None:
            return
        with self.stats_lock:
            rows = [
                {
                    "exporter": host, "domain": domain, "received": st.received, "stored": st.stored,
                    "dropped": st.dropped, "malformed": st.malformed, "spooled": st.spooled,
                    "rejected": st.rejected, "unknown_sets": st.unknown_sets,
                    "unreadable_times": st.unreadable_times, "sequence_gaps": st.sequence_gaps,
                    "sequence_missing": st.sequence_missing, "sampling": st.sampling,
                    "last_seen": datetime.fromtimestamp(st.last_seen, UTC).isoformat() if st.last_seen else None,
                }
                for (host, domain), st in self.stats.items()
            ]  # fmt: skip
        try:
            if now - self._last_partitions > self.config.partitions_every:
                conn.execute("select flow.create_partitions(2, 1)")
                self._last_partitions = now
            if rows:
                conn.execute(STATUS_SQL, [self.instance, json.dumps(rows)])
            conn.commit()
        except psycopg.Error as exc:
            self._lost(exc)

    # -- running ---------------------------------------------------------------------------------
    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> int:
        receiver = threading.Thread(target=self.receive_loop, name="flow-receiver", daemon=True)
        writer = threading.Thread(target=self.write_loop, name="flow-writer", daemon=True)
        receiver.start()
        writer.start()
        while not self.stopping.wait(0.5):
            if not writer.is_alive() or not receiver.is_alive():
                log.error("a collector thread died; stopping")
                self.stopping.set()
        receiver.join()
        writer.join()
        self.sock.close()
        if self.conn is not None:
            self.conn.close()
        return 0


def _write_error(path: Path, exc: BaseException) -> None:
    """The database's refusal beside a rejected spool file (``<name>.error``)."""
    sqlstate = getattr(exc, "sqlstate", None)
    text = f"{datetime.now(UTC).isoformat()} {sqlstate or ''} {str(exc).strip()}\n"
    path.with_suffix(".error").write_text(text, encoding="utf-8")


def _joined(parts: list[bytes] | Iterator[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """The parts concatenated into buffers of about ``size`` bytes (fewer COPY messages)."""
    pending: list[bytes] = []
    n = 0
    for p in parts:
        pending.append(p)
        n += len(p)
        if n >= size:
            yield b"".join(pending)
            pending, n = [], 0
    if pending:
        yield b"".join(pending)


def write_spool(path: Path, batch: Batch) -> Path:
    """Write a batch as a spool file, durably (a temporary file, fsync'ed, renamed, directory fsync'ed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps(
        {"counts": [[h, d, n] for (h, d), n in batch.counts.items()], "rows": batch.rows}
    ).encode()
    flows = b"".join(batch.flows)
    nat = b"".join(batch.nat)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(SPOOL_MAGIC)
        f.write(struct.pack(">III", len(meta), len(flows), len(nat)))
        f.write(meta)
        f.write(flows)
        f.write(nat)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    dirfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)
    return path


def read_spool(path: Path) -> Batch:
    """A batch written by :func:`write_spool`."""
    raw = path.read_bytes()
    if not raw.startswith(SPOOL_MAGIC) or len(raw) < len(SPOOL_MAGIC) + 12:
        raise ValueError("not a spool file")
    pos = len(SPOOL_MAGIC)
    meta_len, flows_len, nat_len = struct.unpack_from(">III", raw, pos)
    pos += 12
    if len(raw) != pos + meta_len + flows_len + nat_len:
        raise ValueError("truncated spool file")
    meta = json.loads(raw[pos : pos + meta_len])
    pos += meta_len
    flows = raw[pos : pos + flows_len]
    nat = raw[pos + flows_len : pos + flows_len + nat_len]
    return Batch(
        flows=[flows] if flows else [],
        nat=[nat] if nat else [],
        rows=int(meta["rows"]),
        counts={(str(h), int(d)): int(n) for h, d, n in meta["counts"]},
    )


def main(settings: Settings) -> int:
    """Run the collector until SIGTERM/SIGINT (``mango agent flowcollector``); the exit code."""
    from agents.bus import configure_logging, metrics_port

    configure_logging()
    try:
        config = Config.from_env(settings)
        collector = Collector(settings, config)
    except (ValueError, OSError) as exc:
        log.error("cannot start the flow collector: %s", exc)
        return 2 if isinstance(exc, ValueError) else 1
    port = metrics_port("flowcollector")
    if port:
        start_http_server(port)
    signal.signal(signal.SIGTERM, lambda *_: collector.stop())
    signal.signal(signal.SIGINT, lambda *_: collector.stop())
    host, bound = collector.address[0], collector.address[1]
    log.info("flow collector listening on %s:%d", host, bound)
    print(f"flowcollector listening on {host}:{bound}", flush=True)
    return collector.run()
