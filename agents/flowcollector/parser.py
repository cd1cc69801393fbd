"""NetFlow v5, v9 and IPFIX (v10) decoding into PostgreSQL binary COPY rows.

Standard library only. A datagram is decoded into ready-made rows of the binary COPY format of
``flow.flows`` (:data:`FLOW_COLUMNS`) and ``flow.nat_events`` (:data:`NAT_COLUMNS`), so the writer
only concatenates buffers.

Speed: the fields of a flow record are big-endian integers and addresses, which is exactly what the
binary COPY format wants. For a data set of ``n`` fixed-length records, each byte of a field is
copied into its place in all ``n`` rows with one strided slice assignment (``out[i::row] =
data[j::rec]``), in C; only the time stamps go through Python arithmetic. A v5 datagram of 30 flows
costs a few dozen slice operations instead of 30 ``struct`` calls with 26 arguments each.

Templates (v9 and IPFIX) are kept per exporter address and observation domain (source id);
a template set replaces a template of the same id, an IPFIX withdrawal (field count 0) removes it.
Options records give the sampling interval (v9 34/35/50, IPFIX 34/305/306) and, for IPFIX
``flowStartSysUpTime``, the exporter's ``systemInitTimeMilliseconds`` (160).

What could not be stored is counted in the :class:`Result`, never dropped silently:

- ``unknown_sets``: data sets whose template is not known (yet); their records cannot be counted.
- ``untimed``: records whose start or end time could not be read (no time field, a time field of
  a length its type does not have, uptime without ``systemInitTimeMilliseconds``): they are stored
  with the export time. IPFIX ``flowStart/EndMicroseconds`` (154/155) are read both as RFC 7011
  NTP values (8 bytes) and as the 16 bytes pmacct sends with ``nfprobe_tstamp_usec`` (seconds and
  microseconds since 1970, 8 bytes each).
- ``sequence_gaps`` and ``sequence_missing``: datagrams lost before the collector, from the header's
  sequence number as nfcapd checks it, per exporter address and observation domain (v5: per
  engine). v5 ``flow_sequence`` counts flows, v9 ``package_sequence`` export packets, IPFIX
  ``sequenceNumber`` data records (options records too); ``sequence_missing`` adds up what the
  jumps skipped, in those units. The counter wraps at 2**32. A datagram whose number lies in one of
  the stream's last 16 gaps is late (reordered): it was counted in that gap and changes nothing.
  Any other number behind the expected one, or an exporter that booted later (v5 and v9: export
  time less uptime, with 2 s of slack), is a restart: the count starts again from that datagram,
  without a gap. An IPFIX message with a data set of an unknown template says nothing about the
  next number: the next message starts the count again.

A datagram that is truncated or inconsistent raises :class:`Malformed` and yields no rows.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

PG_EPOCH_US = 946_684_800 * 1_000_000  # 2000-01-01 in Unix microseconds
NTP_EPOCH_S = 2_208_988_800  # 1900-01-01 .. 1970-01-01 in seconds
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)

FLOW_COLUMNS = (
    "exporter", "observation_domain", "flow_start", "flow_end", "src_addr", "dst_addr", "src_port",
    "dst_port", "protocol", "tcp_flags", "bytes", "packets", "in_if", "out_if", "sampling",
)  # fmt: skip
NAT_COLUMNS = (
    "exporter", "observation_domain", "event_time", "nat_event", "protocol", "src_addr", "src_port",
    "dst_addr", "dst_port", "post_src_addr", "post_src_port", "post_dst_addr", "post_dst_port",
    "port_range_start", "port_range_end", "vrf_id",
)  # fmt: skip

VARLEN = 65535
MAX_TEMPLATES_PER_SESSION = 4096


class Malformed(ValueError):
    """The datagram is not a well-formed NetFlow v5/v9 or IPFIX message."""


# Information elements (IANA IPFIX numbering, shared with NetFlow v9 for ids < 128).
OCTETS, PACKETS, PROTOCOL, TOS, TCP_FLAGS, SRC_PORT, SRC_V4, IN_IF = 1, 2, 4, 5, 6, 7, 8, 10
DST_PORT, DST_V4, OUT_IF, LAST_UPTIME, FIRST_UPTIME = 11, 12, 14, 21, 22
OCTETS_TOTAL, PACKETS_TOTAL = 85, 86
SRC_V6, DST_V6, SAMPLING_INTERVAL, SAMPLING_ALGORITHM, SAMPLER_RANDOM_INTERVAL = 27, 28, 34, 35, 50
START_S, END_S, START_MS, END_MS, START_US, END_US, START_NS, END_NS = 150, 151, 152, 153, 154, 155, 156, 157
START_DELTA_US, END_DELTA_US, SYSTEM_INIT_MS = 158, 159, 160
POST_SRC_V4, POST_DST_V4, POST_SRC_PORT, POST_DST_PORT = 225, 226, 227, 228
NAT_EVENT, INGRESS_VRF, POST_SRC_V6, POST_DST_V6 = 230, 234, 281, 282
SAMPLING_PACKET_INTERVAL, SAMPLING_PACKET_SPACE = 305, 306
OBSERVATION_TIME_MS = 323
PORT_RANGE_START, PORT_RANGE_END, PORT_RANGE_STEP, PORT_RANGE_NUM = 361, 362, 363, 364

NAT_FIELDS = frozenset({POST_SRC_V4, POST_DST_V4, POST_SRC_PORT, POST_DST_PORT, NAT_EVENT, POST_SRC_V6,
                        POST_DST_V6, PORT_RANGE_START, PORT_RANGE_END})  # fmt: skip
TIME_FIELDS = {
    FIRST_UPTIME: "uptime", LAST_UPTIME: "uptime", START_S: "s", END_S: "s", START_MS: "ms", END_MS: "ms",
    START_US: "ntp", END_US: "ntp", START_NS: "ntp", END_NS: "ntp", START_DELTA_US: "delta",
    END_DELTA_US: "delta",
}  # fmt: skip
# The length each kind of time field has (RFC 7011 section 6.1.7-6.1.10, RFC 3954); pmacct sends
# 154/155 in 16 bytes (its struct timeval: seconds and microseconds, 8 bytes each).
TIME_LENGTHS = {"uptime": (4,), "s": (4,), "ms": (8,), "ntp": (8,), "delta": (4,)}
TIMEVAL_FIELDS = frozenset({START_US, END_US})
START_PREFERENCE = (START_MS, START_US, START_NS, START_S, START_DELTA_US, FIRST_UPTIME)
END_PREFERENCE = (END_MS, END_US, END_NS, END_S, END_DELTA_US, LAST_UPTIME)
SEQUENCE_MOD = 1 << 32
HOLES_KEPT = 16  # the latest gaps of a stream, for datagrams that arrive late into them
BOOT_SLACK_MS = 2000  # v9 export times are whole seconds

_H = struct.Struct(">H")
_HH = struct.Struct(">HH")
_V5_HEADER = struct.Struct(">HHIIIIBBH")
_V9_HEADER = struct.Struct(">HHIIII")
_IPFIX_HEADER = struct.Struct(">HHIII")
_I32 = struct.Struct(">i")
_Q = struct.Struct(">q")


def inet_field(address: bytes) -> bytes:
    """One ``inet`` value in binary COPY form (with its length word)."""
    if len(address) == 4:
        return b"\x00\x00\x00\x08\x02\x20\x00\x04" + address
    if len(address) == 16:
        return b"\x00\x00\x00\x14\x03\x80\x00\x10" + address
    raise Malformed(f"an address of {len(address)} bytes")


def exporter_field(host: str) -> bytes:
    """The binary COPY ``inet`` of an exporter's address (an IPv4-mapped IPv6 address as IPv4)."""
    addr = ipaddress.ip_address(host.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return inet_field(addr.packed)


# ---------------------------------------------------------------------------------------------
# Row layouts for flows

# (column, size of its value in the row, source element ids in preference order)
_FLOW_INT_COLUMNS: tuple[tuple[str, int, tuple[int, ...]], ...] = (
    ("src_port", 4, (SRC_PORT,)),
    ("dst_port", 4, (DST_PORT,)),
    ("protocol", 2, (PROTOCOL,)),
    ("tcp_flags", 2, (TCP_FLAGS,)),
    ("bytes", 8, (OCTETS, OCTETS_TOTAL)),
    ("packets", 8, (PACKETS, PACKETS_TOTAL)),
    ("in_if", 8, (IN_IF,)),
    ("out_if", 8, (OUT_IF,)),
)


@dataclass(frozen=True, slots=True)
class TimeSpec:
    kind: str  # "uptime" | "s" | "ms" | "ntp" | "delta" | "export"
    offset: int  # in the (normalised) record
    length: int


@dataclass(slots=True)
class FlowPlan:
    """How to turn fixed-length records into flow rows (independent of the exporter)."""

    reclen: int
    family_len: int  # 4 or 16
    src_offset: int
    dst_offset: int
    # (record offset, record length, column index) for the integer columns present
    ints: tuple[tuple[int, int, int], ...]
    start: TimeSpec
    end: TimeSpec
    layouts: dict[tuple[bytes, int, int], _Layout] = field(default_factory=dict)

    def layout(self, exporter: bytes, domain: int, sampling: int) -> _Layout:
        key = (exporter, domain, sampling)
        found = self.layouts.get(key)
        if found is None:
            if len(self.layouts) > 64:
                self.layouts.clear()
            found = self.layouts[key] = _build_layout(self, exporter, domain, sampling)
        return found


@dataclass(frozen=True, slots=True)
class _Layout:
    row: bytes  # one row with every constant in place and zeros where data goes
    rowlen: int
    copies: tuple[tuple[int, int], ...]  # (record byte offset, row byte offset), one per byte
    start_at: int  # row offset of flow_start's 8 data bytes
    end_at: int


def _build_layout(plan: FlowPlan, exporter: bytes, domain: int, sampling: int) -> _Layout:
    row = bytearray(struct.pack(">h", len(FLOW_COLUMNS)))
    row += exporter
    row += b"\x00\x00\x00\x08" + _Q.pack(domain)
    row += b"\x00\x00\x00\x08"
    start_at = len(row)
    row += bytes(8)
    row += b"\x00\x00\x00\x08"
    end_at = len(row)
    row += bytes(8)
    copies: list[tuple[int, int]] = []
    alen = plan.family_len
    for offset in (plan.src_offset, plan.dst_offset):
        row += inet_field(bytes(alen))
        base = len(row) - alen
        copies.extend((offset + j, base + j) for j in range(alen))
    present = {col: (off, ln) for off, ln, col in plan.ints}
    for col, (_, size, _) in enumerate(_FLOW_INT_COLUMNS):
        if col not in present:
            row += b"\xff\xff\xff\xff"
            continue
        off, ln = present[col]
        row += _I32.pack(size) + bytes(size)
        base = len(row) - size
        take = min(ln, size)  # big-endian: the value's low bytes go to the end of the column
        copies.extend((off + ln - take + j, base + size - take + j) for j in range(take))
    row += b"\x00\x00\x00\x04" + _I32.pack(sampling)
    return _Layout(bytes(row), len(row), tuple(copies), start_at, end_at)


@dataclass(slots=True)
class Template:
    template_id: int
    fields: tuple[tuple[int, int], ...]  # (element id, length); enterprise elements get id -1
    fixed: bool
    reclen: int  # the length of a record, or the minimum when variable
    options: bool = False
    scope_count: int = 0
    flow: FlowPlan | None = None
    nat: bool = False
    # For variable-length templates: the fields the plan needs, copied into a fixed record
    needed: tuple[int, ...] = ()


def compile_template(template_id: int, fields: Sequence[tuple[int, int]], options: bool = False,
                     scope_count: int = 0) -> Template:  # fmt: skip
    fixed = all(ln != VARLEN for _, ln in fields)
    reclen = sum(ln for _, ln in fields if ln != VARLEN) + sum(1 for _, ln in fields if ln == VARLEN)
    t = Template(template_id, tuple(fields), fixed, reclen, options, scope_count)
    if options:
        return t
    ids = {fid for fid, _ in fields}
    t.nat = bool(ids & NAT_FIELDS)
    has_counts = bool(ids & {OCTETS, PACKETS, OCTETS_TOTAL, PACKETS_TOTAL})
    if has_counts and ((SRC_V4 in ids and DST_V4 in ids) or (SRC_V6 in ids and DST_V6 in ids)):
        if fixed:
            offsets = _offsets(fields)
            t.flow = _flow_plan(fields, offsets, reclen)
        else:
            # Keep the fixed-length fields the plan uses; records are first normalised to them.
            wanted = _flow_wanted(fields)
            t.needed = tuple(i for i, (fid, ln) in enumerate(fields) if i in wanted and ln != VARLEN)
            norm_fields = [fields[i] for i in t.needed]
            t.flow = _flow_plan(norm_fields, _offsets(norm_fields), sum(ln for _, ln in norm_fields))
    return t


def _offsets(fields: Sequence[tuple[int, int]]) -> list[int]:
    out, pos = [], 0
    for _, ln in fields:
        out.append(pos)
        pos += ln
    return out


def _flow_wanted(fields: Sequence[tuple[int, int]]) -> set[int]:
    useful = {SRC_V4, DST_V4, SRC_V6, DST_V6, *TIME_FIELDS}
    for _, _, ids in _FLOW_INT_COLUMNS:
        useful.update(ids)
    return {i for i, (fid, _) in enumerate(fields) if fid in useful}


def _flow_plan(fields: Sequence[tuple[int, int]], offsets: Sequence[int], reclen: int) -> FlowPlan | None:
    where: dict[int, tuple[int, int]] = {}
    for (fid, ln), off in zip(fields, offsets, strict=True):
        where.setdefault(fid, (off, ln))
    if SRC_V4 in where and DST_V4 in where and where[SRC_V4][1] == 4 and where[DST_V4][1] == 4:
        family, src, dst = 4, where[SRC_V4][0], where[DST_V4][0]
    elif SRC_V6 in where and DST_V6 in where and where[SRC_V6][1] == 16 and where[DST_V6][1] == 16:
        family, src, dst = 16, where[SRC_V6][0], where[DST_V6][0]
    else:
        return None
    ints = []
    for col, (_, _, ids) in enumerate(_FLOW_INT_COLUMNS):
        for fid in ids:
            if fid in where and 0 < where[fid][1] <= 8:
                ints.append((where[fid][0], where[fid][1], col))
                break
    return FlowPlan(reclen, family, src, dst, tuple(ints), _time_spec(where, START_PREFERENCE),
                    _time_spec(where, END_PREFERENCE))  # fmt: skip


def _time_spec(where: dict[int, tuple[int, int]], preference: Sequence[int]) -> TimeSpec:
    for fid in preference:
        if fid not in where:
            continue
        offset, length = where[fid]
        kind = TIME_FIELDS[fid]
        if length in TIME_LENGTHS[kind]:
            return TimeSpec(kind, offset, length)
        if fid in TIMEVAL_FIELDS and length == 16:
            return TimeSpec("timeval", offset, length)
    return TimeSpec("export", 0, 0)


def _untimed(plan: FlowPlan, clock: _Clock) -> bool:
    """Whether the records of this plan get the export time for their start or end."""
    return any(
        spec.kind == "export" or (spec.kind == "uptime" and clock.uptime_ms is None)
        for spec in (plan.start, plan.end)
    )


# ---------------------------------------------------------------------------------------------
# Decoding


@dataclass(slots=True)
class Session:
    """What an exporter (address, observation domain) told us: templates, sampling, clock."""

    templates: dict[int, Template] = field(default_factory=dict)
    sampling: int = 1
    system_init_ms: int | None = None


@dataclass(slots=True)
class Result:
    flows: list[bytes] = field(default_factory=list)
    flow_count: int = 0
    nat: list[bytes] = field(default_factory=list)
    nat_count: int = 0
    domain: int = 0
    unknown_sets: int = 0  # data sets whose template we do not (yet) know
    unknown_templates: list[int] = field(default_factory=list)  # their set ids
    untimed: int = 0  # records stored with the export time: their own time could not be read
    untimed_templates: list[int] = field(default_factory=list)  # the templates of those records
    sequence_gaps: int = 0  # jumps forward of the header's sequence number
    sequence_missing: int = 0  # what the jumps skipped (v5 flows, v9 datagrams, IPFIX records)
    restarted: bool = False  # the exporter started its sequence again


@dataclass(slots=True)
class SequenceState:
    """What the next datagram of one exporter stream should carry."""

    expected: int | None  # None: unknown (the next datagram starts the count again)
    boot_ms: int | None  # export time less uptime of the last datagram (v5, v9)
    holes: list[tuple[int, int]] = field(default_factory=list)  # the latest gaps: (first, length)


@dataclass(slots=True)
class _Clock:
    export_us: int  # Unix microseconds of the export
    # The exporter's uptime at export in ms (v5/v9; for IPFIX derived from the option
    # systemInitTimeMilliseconds); None when unknown.
    uptime_ms: int | None


class Decoder:
    """Decodes datagrams from any number of exporters, keeping their templates."""

    def __init__(self) -> None:
        self.sessions: dict[tuple[str, int], Session] = {}
        self.sequences: dict[tuple[str, int, int], SequenceState] = {}
        self._exporters: dict[str, bytes] = {}

    def session(self, host: str, domain: int) -> Session:
        key = (host, domain)
        s = self.sessions.get(key)
        if s is None:
            if len(self.sessions) > 100_000:
                raise Malformed("too many exporter sessions")
            s = self.sessions[key] = Session()
        return s

    def exporter(self, host: str) -> bytes:
        e = self._exporters.get(host)
        if e is None:
            e = self._exporters[host] = exporter_field(host)
        return e

    def _sequence(self, key: tuple[str, int, int], seq: int, units: int | None, boot_ms: int | None,
                  out: Result) -> None:  # fmt: skip
        """Check a datagram's sequence number against the stream's and count a gap.

        ``units`` is what the datagram adds to the sequence (None: unknown), ``boot_ms`` the
        exporter's boot time it implies (v5, v9).
        """
        st = self.sequences.get(key)
        if st is None:
            if len(self.sequences) > 100_000:
                self.sequences.clear()
            st = self.sequences[key] = SequenceState(None, boot_ms)
        rebooted = boot_ms is not None and st.boot_ms is not None and boot_ms - st.boot_ms > BOOT_SLACK_MS
        if rebooted:
            out.restarted = True
        elif st.expected is not None:
            distance = (seq - st.expected) % SEQUENCE_MOD
            if distance >= SEQUENCE_MOD // 2:  # behind the expected number
                if any((seq - start) % SEQUENCE_MOD < length for start, length in st.holes):
                    return  # late: it fills a gap counted already; the stream goes on where it was
                out.restarted = True
            elif distance:
                out.sequence_gaps += 1
                out.sequence_missing += distance
                st.holes.append((st.expected, distance))
                del st.holes[:-HOLES_KEPT]
        if out.restarted:
            st.holes.clear()
        st.expected = None if units is None else (seq + units) % SEQUENCE_MOD
        st.boot_ms = boot_ms

    def decode(self, data: bytes, host: str) -> Result:
        """Rows from one datagram sent by ``host``; raises :class:`Malformed`."""
        if len(data) < 4:
            raise Malformed("shorter than a header")
        version = _H.unpack_from(data)[0]
        try:
            if version == 5:
                return self._v5(data, host)
            if version == 9:
                return self._v9(data, host)
            if version == 10:
                return self._ipfix(data, host)
        except (struct.error, IndexError, OverflowError, ValueError) as exc:
            if isinstance(exc, Malformed):
                raise
            raise Malformed(f"v{version}: {exc}") from exc
        raise Malformed(f"unknown version {version}")

    # -- v5 ----------------------------------------------------------------------------------
    def _v5(self, data: bytes, host: str) -> Result:
        if len(data) < 24:
            raise Malformed("v5: truncated header")
        _, count, uptime, secs, nsecs, seq, etype, eid, sampling = _V5_HEADER.unpack_from(data)
        if count == 0 or count > 30 or len(data) < 24 + 48 * count:
            raise Malformed(f"v5: {count} records in {len(data)} bytes")
        interval = sampling & 0x3FFF
        session = self.session(host, 0)
        if interval > 1:
            session.sampling = interval
        clock = _Clock(secs * 1_000_000 + nsecs // 1000, uptime)
        out = Result()
        layout = V5_PLAN.layout(self.exporter(host), 0, max(session.sampling, 1))
        out.flows.append(_encode(V5_PLAN, layout, data, 24, count, clock))
        out.flow_count = count
        boot = secs * 1000 + nsecs // 1_000_000 - uptime
        self._sequence((host, 5, etype << 8 | eid), seq, count, boot, out)
        return out

    def decode_v5_many(self, datagrams: Sequence[bytes], host: str) -> Result:
        """Rows from several v5 datagrams of one exporter at once (the per-byte copies are shared).

        Raises :class:`Malformed` when any of them is malformed; the caller then decodes them one
        by one to keep the good ones.
        """
        bodies: list[bytes] = []
        ats: list[int] = []
        ups: list[int] = []
        sequences: list[tuple[int, int, int, int]] = []  # engine, sequence, count, boot
        session = self.session(host, 0)
        total = 0
        for data in datagrams:
            if len(data) < 24 or _H.unpack_from(data)[0] != 5:
                raise Malformed("v5: not a v5 datagram")
            _, count, uptime, secs, nsecs, seq, etype, eid, sampling = _V5_HEADER.unpack_from(data)
            if count == 0 or count > 30 or len(data) < 24 + 48 * count:
                raise Malformed(f"v5: {count} records in {len(data)} bytes")
            if sampling & 0x3FFF > 1:
                session.sampling = sampling & 0x3FFF
            bodies.append(data[24 : 24 + 48 * count])
            at = secs * 1_000_000 + nsecs // 1000 - PG_EPOCH_US
            ats.extend([at] * count)
            ups.extend([uptime] * count)
            sequences.append((etype << 8 | eid, seq, count, secs * 1000 + nsecs // 1_000_000 - uptime))
            total += count
        out = Result()
        if not total:
            return out
        plan = V5_PLAN
        layout = plan.layout(self.exporter(host), 0, max(session.sampling, 1))
        buf = b"".join(bodies)
        rowlen = layout.rowlen
        rows = bytearray(layout.row * total)
        stop = 48 * total
        for src, dst in layout.copies:
            rows[dst::rowlen] = buf[src:stop:48]
        for off, at_row in ((24, layout.start_at), (28, layout.end_at)):
            tmp = bytearray(4 * total)
            for j in range(4):
                tmp[j::4] = buf[off + j : stop : 48]
            values = struct.unpack(f">{total}I", tmp)
            stamps = [a - ((u - v) & 0xFFFFFFFF) * 1000 for a, u, v in zip(ats, ups, values, strict=True)]
            if max(stamps) >= _LIMIT or min(stamps) <= -_LIMIT:
                raise Malformed("a time stamp out of range")
            packed = struct.pack(f">{total}q", *stamps)
            for j in range(8):
                rows[at_row + j :: rowlen] = packed[j::8]
        out.flows.append(bytes(rows))
        out.flow_count = total
        for engine, seq, count, boot in sequences:  # only once every datagram decoded
            self._sequence((host, 5, engine), seq, count, boot, out)
        return out

    # -- v9 ----------------------------------------------------------------------------------
    def _v9(self, data: bytes, host: str) -> Result:
        if len(data) < 20:
            raise Malformed("v9: truncated header")
        _, _count, uptime, secs, seq, source_id = _V9_HEADER.unpack_from(data)
        session = self.session(host, source_id)
        clock = _Clock(secs * 1_000_000, uptime)
        out = Result(domain=source_id)
        pos, end = 20, len(data)
        while pos + 4 <= end:
            set_id, length = _HH.unpack_from(data, pos)
            if length < 4 or pos + length > end:
                raise Malformed(f"v9: flowset of length {length} at {pos}")
            body, body_end = pos + 4, pos + length
            if set_id == 0:
                self._v9_templates(session, data, body, body_end)
            elif set_id == 1:
                self._v9_options_templates(session, data, body, body_end)
            elif set_id >= 256:
                self._data_set(session, set_id, data, body, body_end, clock, host, out)
            pos = body_end
        self._sequence((host, 9, source_id), seq, 1, secs * 1000 - uptime, out)
        return out

    def _v9_templates(self, session: Session, data: bytes, pos: int, end: int) -> None:
        while pos + 4 <= end:
            tid, count = _HH.unpack_from(data, pos)
            pos += 4
            if tid < 256 or count == 0 or pos + 4 * count > end:
                raise Malformed(f"v9: template {tid} with {count} fields")
            fields = struct.unpack_from(f">{2 * count}H", data, pos)
            pos += 4 * count
            pairs = [(fields[i], fields[i + 1]) for i in range(0, 2 * count, 2)]
            if any(ln == 0 or ln == VARLEN for _, ln in pairs):
                raise Malformed(f"v9: template {tid} has a field of length 0")
            self._learn(session, compile_template(tid, pairs))

    def _v9_options_templates(self, session: Session, data: bytes, pos: int, end: int) -> None:
        while pos + 6 <= end:
            tid, scope_len, opt_len = struct.unpack_from(">HHH", data, pos)
            pos += 6
            if tid < 256 or scope_len % 4 or opt_len % 4 or pos + scope_len + opt_len > end:
                raise Malformed(f"v9: options template {tid}")
            n = (scope_len + opt_len) // 4
            fields = struct.unpack_from(f">{2 * n}H", data, pos)
            pos += scope_len + opt_len
            pairs = [(fields[i], fields[i + 1]) for i in range(0, 2 * n, 2)]
            if not pairs or any(ln == 0 for _, ln in pairs):
                raise Malformed(f"v9: options template {tid} has a field of length 0")
            self._learn(session, compile_template(tid, pairs, options=True, scope_count=scope_len // 4))
            if end - pos < 6:  # the rest is padding
                break

    # -- IPFIX -------------------------------------------------------------------------------
    def _ipfix(self, data: bytes, host: str) -> Result:
        if len(data) < 16:
            raise Malformed("IPFIX: truncated header")
        _, length, export_time, seq, domain = _IPFIX_HEADER.unpack_from(data)
        if length != len(data) or length < 16:
            raise Malformed(f"IPFIX: message length {length}, datagram {len(data)}")
        session = self.session(host, domain)
        clock = _Clock(export_time * 1_000_000, None)
        out = Result(domain=domain)
        records: int | None = 0  # data records, for the sequence number; None when not known
        pos = 16
        while pos < length:
            if pos + 4 > length:
                raise Malformed("IPFIX: truncated set header")
            set_id, set_len = _HH.unpack_from(data, pos)
            if set_len < 4 or pos + set_len > length:
                raise Malformed(f"IPFIX: set of length {set_len} at {pos}")
            body, body_end = pos + 4, pos + set_len
            if set_id in (2, 3):
                self._ipfix_templates(session, data, body, body_end, options=set_id == 3)
            elif set_id >= 256:
                # flowStartSysUpTime counts from systemInitTimeMilliseconds; as the uptime at
                # export (modulo 2**32, like v9) it also survives an uptime that wrapped.
                init = session.system_init_ms
                clock.uptime_ms = None if init is None else (export_time * 1000 - init) & 0xFFFFFFFF
                n = self._data_set(session, set_id, data, body, body_end, clock, host, out)
                records = None if n is None or records is None else records + n
            elif set_id not in (0, 1):
                pass  # sets 4..255 are reserved: skipped
            else:
                raise Malformed(f"IPFIX: set id {set_id}")
            pos = body_end
        self._sequence((host, 10, domain), seq, records, None, out)
        return out

    def _ipfix_templates(self, session: Session, data: bytes, pos: int, end: int, options: bool) -> None:
        head = 6 if options else 4
        while pos + 4 <= end:
            tid, count = _HH.unpack_from(data, pos)
            if count == 0:  # withdrawal
                pos += 4
                if tid == (3 if options else 2):
                    for k in [k for k, t in session.templates.items() if t.options == options]:
                        del session.templates[k]
                else:
                    session.templates.pop(tid, None)
                continue
            if pos + head > end:
                raise Malformed("IPFIX: truncated template header")
            scope = _H.unpack_from(data, pos + 4)[0] if options else 0
            pos += head
            if tid < 256 or (options and (scope == 0 or scope > count)):
                raise Malformed(f"IPFIX: template {tid} scope {scope} of {count}")
            pairs: list[tuple[int, int]] = []
            for _ in range(count):
                if pos + 4 > end:
                    raise Malformed(f"IPFIX: template {tid} truncated")
                fid, ln = _HH.unpack_from(data, pos)
                pos += 4
                if fid & 0x8000:  # enterprise-specific: skip the enterprise number
                    if pos + 4 > end:
                        raise Malformed(f"IPFIX: template {tid} truncated")
                    pos += 4
                    fid = -1
                if ln == 0:
                    raise Malformed(f"IPFIX: template {tid} has a field of length 0")
                pairs.append((fid, ln))
            self._learn(session, compile_template(tid, pairs, options=options, scope_count=scope))

    # -- shared --------------------------------------------------------------------------------
    def _learn(self, session: Session, template: Template) -> None:
        if (
            template.template_id not in session.templates
            and len(session.templates) >= MAX_TEMPLATES_PER_SESSION
        ):
            raise Malformed("too many templates")
        session.templates[template.template_id] = template

    def _data_set(self, session: Session, set_id: int, data: bytes, pos: int, end: int, clock: _Clock,
                  host: str, out: Result) -> int | None:  # fmt: skip
        """Decode one data set into ``out``; the number of its records (None: template unknown)."""
        t = session.templates.get(set_id)
        if t is None:
            out.unknown_sets += 1
            out.unknown_templates.append(set_id)
            return None
        spans: list[list[tuple[int, int]]] = []
        if t.fixed:
            n = (end - pos) // t.reclen
        else:
            spans = _split_varlen(t, data, pos, end)
            n = len(spans)
        buf, base = data, pos
        if n == 0:
            return 0
        if t.options:
            for values in _records(t, data, pos, end):
                self._apply_options(session, values)
            return n
        untimed = 0
        if t.flow is not None:
            if not t.fixed:
                buf, base = _normalise(t, data, spans), 0
            layout = t.flow.layout(self.exporter(host), out.domain, max(session.sampling, 1))
            out.flows.append(_encode(t.flow, layout, buf, base, n, clock))
            out.flow_count += n
            if _untimed(t.flow, clock):
                untimed += n
        if t.nat:
            records = _records(t, data, pos, end)
            ex = self.exporter(host)
            for values in records:
                row, timed = _nat_row(ex, out.domain, values, clock)
                out.nat.append(row)
                untimed += not timed
            out.nat_count += len(records)
        if untimed:
            out.untimed += untimed
            out.untimed_templates.append(set_id)
        return n

    def _apply_options(self, session: Session, values: Record) -> None:
        ids: dict[int, int | bytes] = {}
        for fid, value in values:
            ids.setdefault(fid, value)
        interval = 0
        for fid in (SAMPLING_INTERVAL, SAMPLER_RANDOM_INTERVAL):
            v = ids.get(fid)
            if isinstance(v, int) and v > 0:
                interval = v
                break
        pi, ps = ids.get(SAMPLING_PACKET_INTERVAL), ids.get(SAMPLING_PACKET_SPACE)
        if isinstance(pi, int) and isinstance(ps, int) and pi > 0:
            interval = (pi + ps) // pi
        if 0 < interval < 2**31:
            session.sampling = interval
        init = ids.get(SYSTEM_INIT_MS)
        if isinstance(init, int) and init > 0:
            session.system_init_ms = init


def _split_varlen(t: Template, data: bytes, pos: int, end: int) -> list[list[tuple[int, int]]]:
    """(offset, length) of every field of every record of a variable-length data set."""
    out: list[list[tuple[int, int]]] = []
    while end - pos >= t.reclen:
        spans: list[tuple[int, int]] = []
        for _fid, ln in t.fields:
            if ln == VARLEN:
                if pos >= end:
                    raise Malformed("IPFIX: truncated variable-length field")
                ln = data[pos]
                pos += 1
                if ln == 255:
                    if pos + 2 > end:
                        raise Malformed("IPFIX: truncated variable-length field")
                    ln = _H.unpack_from(data, pos)[0]
                    pos += 2
            if pos + ln > end:
                raise Malformed("IPFIX: record runs past its set")
            spans.append((pos, ln))
            pos += ln
        out.append(spans)
    return out


def _normalise(t: Template, data: bytes, records: list[list[tuple[int, int]]]) -> bytes:
    parts: list[bytes] = []
    for spans in records:
        for i in t.needed:
            off, ln = spans[i]
            parts.append(data[off : off + ln])
    return b"".join(parts)


Record = tuple[tuple[int, int | bytes], ...]


def _records(t: Template, data: bytes, pos: int, end: int) -> list[Record]:
    """Every record of a data set as a tuple of (element id, value) pairs (ints up to 8 bytes)."""
    if t.fixed:
        spans_list = []
        while end - pos >= t.reclen:
            spans = []
            for _fid, ln in t.fields:
                spans.append((pos, ln))
                pos += ln
            spans_list.append(spans)
    else:
        spans_list = _split_varlen(t, data, pos, end)
    out: list[Record] = []
    for spans in spans_list:
        values: list[tuple[int, int | bytes]] = []
        for (fid, _), (off, ln) in zip(t.fields, spans, strict=True):
            raw = data[off : off + ln]
            values.append((fid, int.from_bytes(raw, "big") if ln <= 8 else raw))
        out.append(tuple(values))
    return out


def _times(spec: TimeSpec, buf: bytes, base: int, reclen: int, n: int, clock: _Clock) -> list[int]:
    """The time stamps of n records as PostgreSQL microseconds."""
    if spec.kind == "export":
        return [clock.export_us - PG_EPOCH_US] * n
    ln = spec.length
    tmp = bytearray(ln * n)
    start, stop = base + spec.offset, base + reclen * n
    for j in range(ln):
        tmp[j::ln] = buf[start + j : stop : reclen]
    kind = spec.kind
    if kind == "timeval":  # pmacct: seconds and microseconds since 1970, 8 bytes each
        pairs = struct.unpack(f">{2 * n}Q", tmp)
        return [pairs[i] * 1_000_000 + pairs[i + 1] - PG_EPOCH_US for i in range(0, 2 * n, 2)]
    values = struct.unpack(f">{n}{'I' if ln == 4 else 'Q'}", tmp)
    if kind == "uptime":
        at = clock.export_us - PG_EPOCH_US
        up = clock.uptime_ms
        if up is None:  # IPFIX without systemInitTimeMilliseconds yet: the export time
            return [at] * n
        return [at - ((up - v) & 0xFFFFFFFF) * 1000 for v in values]
    if kind == "ms":
        return [v * 1000 - PG_EPOCH_US for v in values]
    if kind == "s":
        return [v * 1_000_000 - PG_EPOCH_US for v in values]
    if kind == "delta":
        at = clock.export_us - PG_EPOCH_US
        return [at - v for v in values]
    # NTP timestamp: seconds since 1900 and a binary fraction
    return [((v >> 32) - NTP_EPOCH_S) * 1_000_000 + (((v & 0xFFFFFFFF) * 1_000_000) >> 32) - PG_EPOCH_US
            for v in values]  # fmt: skip


_LIMIT = 2**62


def _encode(plan: FlowPlan, layout: _Layout, buf: bytes, base: int, n: int, clock: _Clock) -> bytes:
    rowlen, reclen = layout.rowlen, plan.reclen
    out = bytearray(layout.row * n)
    stop = base + reclen * n
    for src, dst in layout.copies:
        out[dst::rowlen] = buf[base + src : stop : reclen]
    for spec, at in ((plan.start, layout.start_at), (plan.end, layout.end_at)):
        values = _times(spec, buf, base, reclen, n, clock)
        if max(values) >= _LIMIT or min(values) <= -_LIMIT:
            raise Malformed("a time stamp out of range")
        packed = struct.pack(f">{n}q", *values)
        for j in range(8):
            out[at + j :: rowlen] = packed[j::8]
    return bytes(out)


V5_PLAN = FlowPlan(
    reclen=48,
    family_len=4,
    src_offset=0,
    dst_offset=4,
    # src_port, dst_port, protocol, tcp_flags, bytes, packets, in_if, out_if
    ints=((32, 2, 0), (34, 2, 1), (38, 1, 2), (37, 1, 3), (20, 4, 4), (16, 4, 5), (12, 2, 6), (14, 2, 7)),
    start=TimeSpec("uptime", 24, 4),
    end=TimeSpec("uptime", 28, 4),
)


# ---------------------------------------------------------------------------------------------
# NAT events (lower volume: decoded record by record)


def _int_field(value: int | bytes | None, size: int) -> bytes:
    if not isinstance(value, int):
        return b"\xff\xff\xff\xff"
    limit = 1 << (8 * size - 1)
    if value >= limit:
        return b"\xff\xff\xff\xff"
    return _I32.pack(size) + value.to_bytes(size, "big")


def _addr_field(value: int | bytes | None, size: int) -> bytes:
    if isinstance(value, int):
        return inet_field(value.to_bytes(size, "big"))
    if isinstance(value, bytes) and len(value) == size:
        return inet_field(value)
    return b"\xff\xff\xff\xff"


def _nat_row(exporter: bytes, domain: int, values: Record, clock: _Clock) -> tuple[bytes, bool]:
    """A NAT event row, and whether its time was read from the record (else: the export time)."""
    v: dict[int, int | bytes] = {}
    for fid, value in values:
        v.setdefault(fid, value)
    when: int | None = None
    for fid, kind in (
        (OBSERVATION_TIME_MS, "ms"),
        (START_MS, "ms"),
        (START_S, "s"),
        (FIRST_UPTIME, "uptime"),
    ):
        raw = v.get(fid)
        if isinstance(raw, int):
            if kind == "ms":
                when = raw * 1000
            elif kind == "s":
                when = raw * 1_000_000
            elif clock.uptime_ms is None:
                continue
            else:
                when = clock.export_us - ((clock.uptime_ms - raw) & 0xFFFFFFFF) * 1000
            break
    timed = when is not None
    if when is None:
        when = clock.export_us
    when -= PG_EPOCH_US
    if not -_LIMIT < when < _LIMIT:
        raise Malformed("a NAT event time out of range")
    v4 = SRC_V4 in v or POST_SRC_V4 in v
    size = 4 if v4 else 16
    src, dst = (SRC_V4, DST_V4) if v4 else (SRC_V6, DST_V6)
    post_src, post_dst = (POST_SRC_V4, POST_DST_V4) if v4 else (POST_SRC_V6, POST_DST_V6)
    range_start, range_end = v.get(PORT_RANGE_START), v.get(PORT_RANGE_END)
    if isinstance(range_start, int) and not isinstance(range_end, int):
        num = v.get(PORT_RANGE_NUM)
        if isinstance(num, int) and num > 0:
            range_end = range_start + num - 1
    parts = [
        struct.pack(">h", len(NAT_COLUMNS)),
        exporter,
        b"\x00\x00\x00\x08" + _Q.pack(domain),
        b"\x00\x00\x00\x08" + _Q.pack(when),
        _int_field(v.get(NAT_EVENT), 2),
        _int_field(v.get(PROTOCOL), 2),
        _addr_field(v.get(src), size),
        _int_field(v.get(SRC_PORT), 4),
        _addr_field(v.get(dst), size),
        _int_field(v.get(DST_PORT), 4),
        _addr_field(v.get(post_src), size),
        _int_field(v.get(POST_SRC_PORT), 4),
        _addr_field(v.get(post_dst), size),
        _int_field(v.get(POST_DST_PORT), 4),
        _int_field(range_start, 4),
        _int_field(range_end, 4),
        _int_field(v.get(INGRESS_VRF), 8),
    ]
    return b"".join(parts), timed
