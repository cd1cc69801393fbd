"""NAT translation logs from syslog files into ``flow.nat_events`` (``mango nat import FILE...``).

Formats (one per file; ``auto`` takes the format of the first line one of them recognises):

- ``conntrack``: Linux ``conntrack -E -o timestamp`` event lines, e.g.
  ``[1732543381.123456]   [NEW] tcp 6 120 SYN_SENT src=10.0.0.5 dst=192.0.2.80 sport=51234 dport=443
  [UNREPLIED] src=192.0.2.80 dst=198.51.100.7 sport=443 dport=40000``. The reply tuple gives the
  translation (source NAT: its destination; destination NAT: its source). ``[NEW]`` is a session
  create (natEvent 1), ``[DESTROY]`` a delete (2); ``[UPDATE]`` and untranslated connections are
  ignored. Without ``-o timestamp`` the syslog time stamp is used.
- ``asa``: Cisco ASA / FTD ``%ASA-6-305011`` / ``305012`` "Built/Teardown dynamic TCP translation
  from inside:10.0.0.5/1234 to outside:198.51.100.7/40000" (create 1 / delete 2), and the
  address-only ``305009`` / ``305010``. Other ASA messages are ignored.
- ``juniper``: port block allocation on Junos CGNAT (MS-DPC/MS-MPC) ``JSERVICES_NAT_PORT_BLOCK_ALLOC``
  / ``_RELEASE`` / ``_ACTIVE`` (interim) "100.64.1.2 -> 198.51.100.7:1024-1279" (natEvent 16 port
  block allocation, 17 de-allocation; an interim ``ACTIVE`` message is stored as 16 again: the block
  is still held); ``ASP_`` messages of older releases likewise. The services PIC's own time stamp
  (UTC) is used when the line has one. Other ``JSERVICES_`` messages are ignored.
- ``mikrotik``: RouterOS firewall log lines of a rule with ``action=log`` in the ``srcnat`` (or a
  ``forward``) chain, "... proto TCP (SYN), 192.168.88.7:40000->129.6.15.28:123, NAT
  (192.168.88.7:40000->198.51.100.7:40000)->129.6.15.28:123, len 76": a session create (1); lines
  without a ``NAT`` part are ignored.

Syslog time stamps: RFC 5424 (``<PRI>1 2025-11-25T14:03:01.123+01:00 host ...``), RFC 3339 at the
start of the line (rsyslog's high-precision format), and RFC 3164 (``Nov 25 14:03:01 host ...``,
also with a year: ``Nov 25 2025 14:03:01``). A time without a zone is in ``--timezone`` (default
Europe/Prague); a date without a year takes the year of the file's modification time (a date later
than that is of the year before), or ``--year``, and a file that runs from December into January
moves to the next year there.

Each file is imported in one transaction: its SHA-256 (of the content, uncompressed) goes into
``flow.nat_imports`` first, so a file imported before imports nothing; the events go in with COPY;
events older than the retention period are not stored (``expired``); the partitions of the days
the events fall on are made if missing. A line that is not in the file's format is counted as rejected and the
first few are reported with their line numbers; a file with no line in a known format is an error.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import IO, cast
from zoneinfo import ZoneInfo

import psycopg

FORMATS = ("conntrack", "asa", "juniper", "mikrotik")
DEFAULT_TIMEZONE = "Europe/Prague"
UNKNOWN_EXPORTER = "0.0.0.0"
BAD_LINES_SHOWN = 5

NAT_CREATE, NAT_DELETE, PORT_BLOCK_ALLOC, PORT_BLOCK_DEALLOC = 1, 2, 16, 17
PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132}

NAT_IMPORT_COLUMNS = (
    "exporter", "observation_domain", "event_time", "nat_event", "protocol", "src_addr", "src_port",
    "dst_addr", "dst_port", "post_src_addr", "post_src_port", "post_dst_addr", "post_dst_port",
    "port_range_start", "port_range_end",
)  # fmt: skip
COPY_NAT_TEXT = f"copy flow.nat_events ({', '.join(NAT_IMPORT_COLUMNS)}) from stdin"

Address = str  # an IPv4 or IPv6 address in text form, checked with inet_pton


class NatLogError(Exception):
    """The file cannot be imported at all (unreadable, no line in a known format)."""


class BadLine(ValueError):
    """A line that is not a valid line of the file's format; the message says why."""


@dataclass(frozen=True)
class NatEvent:
    time: datetime
    event: int
    protocol: int | None
    src_addr: Address | None
    src_port: int | None
    dst_addr: Address | None
    dst_port: int | None
    post_src_addr: Address | None
    post_src_port: int | None
    post_dst_addr: Address | None
    post_dst_port: int | None
    port_range_start: int | None = None
    port_range_end: int | None = None


# ---------------------------------------------------------------------------------------------
# Syslog headers and time stamps

MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_PRI = re.compile(r"<\d{1,3}>")
_ISO = (
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?"  # fmt: skip
)
_RFC5424 = re.compile(r"1 " + _ISO + r" (\S+) (\S+) (\S+) (\S+) ")
_RFC3339 = re.compile(_ISO + r" (\S+) ")
_RFC3164 = re.compile(
    r"([A-Z][a-z]{2}) +(\d{1,2}) (?:(\d{4}) )?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:(?: [A-Z]{3,5})?:)? "
)


@dataclass
class Clock:
    """Turns syslog time stamps into aware times: the zone for stamps without one, the year for
    RFC 3164 stamps without one (rolled over from December to January within a file)."""

    zone: tzinfo
    year: int | None
    file_time: datetime
    _year: int | None = None
    _month: int = 0

    def naive(
        self, month: int, day: int, year: int | None, hms: tuple[int, int, int], frac: str | None
    ) -> datetime:
        if year is None:
            if self._year is None:
                self._year = self.year if self.year is not None else self._guess_year(month, day, hms)
            elif month < self._month and self._month == 12 and month == 1:
                self._year += 1
            year = self._year
            self._month = month
        try:
            when = datetime(year, month, day, *hms, _micro(frac))
        except ValueError as exc:
            raise BadLine(f"not a valid date: {exc}") from exc
        return when.replace(tzinfo=self.zone)

    def _guess_year(self, month: int, day: int, hms: tuple[int, int, int]) -> int:
        year = self.file_time.astimezone(self.zone).year
        try:
            when = datetime(year, month, day, *hms, tzinfo=self.zone)
        except ValueError:  # 29 February of a year that has none: the year before had one
            return year - 1
        return year - 1 if when > self.file_time + timedelta(days=1) else year

    def iso(self, m: re.Match[str], first: int) -> datetime:
        y, mo, d, hh, mm, ss, frac, tz = m.group(*range(first, first + 8))
        try:
            when = datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss), _micro(frac))
        except ValueError as exc:
            raise BadLine(f"not a valid date: {exc}") from exc
        if tz is None:
            return when.replace(tzinfo=self.zone)
        if tz == "Z":
            return when.replace(tzinfo=UTC)
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return when.replace(tzinfo=UTC) - sign * offset


def _micro(frac: str | None) -> int:
    return int((frac or "0")[:6].ljust(6, "0"))


@dataclass(frozen=True)
class Header:
    time: datetime | None
    host: str | None
    body: str


def split_header(line: str, clock: Clock) -> Header:
    """The syslog time stamp and host of a line (if it has them) and the rest of it."""
    rest = line
    m = _PRI.match(rest)
    if m:
        rest = rest[m.end() :]
    if m := _RFC5424.match(rest):
        body = _skip_structured_data(rest[m.end() :])
        return Header(clock.iso(m, 1), m.group(9), body)
    if m := _RFC3339.match(rest):
        return Header(clock.iso(m, 1), m.group(9), rest[m.end() :])
    if m := _RFC3164.match(rest):
        month = MONTHS.get(m.group(1))
        if month is None:
            return Header(None, None, rest)
        year = int(m.group(3)) if m.group(3) else None
        hms = (int(m.group(4)), int(m.group(5)), int(m.group(6)))
        when = clock.naive(month, int(m.group(2)), year, hms, m.group(7))
        body = rest[m.end() :]
        host = None
        if not m.group(0).rstrip().endswith(":"):  # "Nov 25 2025 14:03:01: %ASA..." has no host
            host, _, tail = body.partition(" ")
            body = tail if tail else body
        return Header(when, host, body)
    return Header(None, None, rest)


def _skip_structured_data(rest: str) -> str:
    """RFC 5424: skip the structured data ("-" or [id k="v" ...]...) before the message."""
    if rest.startswith("- "):
        return rest[2:]
    i, n = 0, len(rest)
    while i < n and rest[i] == "[":
        i += 1
        quoted = False
        while i < n:
            ch = rest[i]
            if quoted:
                if ch == "\\":
                    i += 1
                elif ch == '"':
                    quoted = False
            elif ch == '"':
                quoted = True
            elif ch == "]":
                break
            i += 1
        i += 1
    return rest[i:].lstrip(" ")


def _is_address(text: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)
    except (OSError, ValueError):
        return False
    return True


def host_address(host: str | None) -> Address | None:
    if not host:
        return None
    host = host.strip("[]")
    return host if _is_address(host) else None


def _address(text: str, what: str) -> Address:
    address = text.strip("[]")
    if not _is_address(address):
        raise BadLine(f"{what} {text!r} is not an IP address")
    return address


def _port(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise BadLine(f"{what} {text!r} is not a port number")
    value = int(text)
    if not 0 <= value <= 65535:
        raise BadLine(f"{what} {value} is not a port number")
    return value


def _protocol(name: str) -> int | None:
    name = name.lower()
    if name.isdigit():
        return int(name) if int(name) < 256 else None
    return PROTOCOLS.get(name)


# ---------------------------------------------------------------------------------------------
# The formats. Each has a signature (is this line in the format at all?) and a parser that returns
# an event, None (a line of the format that carries no translation) or raises BadLine.


_CT_TAG = re.compile(r"\[(NEW|UPDATE|DESTROY)\]")
_CT_LINE = re.compile(
    r"(?:\[\s*(\d+)(?:\.(\d+))?\s*\]\s*)?\[(NEW|UPDATE|DESTROY)\]\s+(?:ipv[46]\s+\d+\s+)?"
    r"([A-Za-z][\w-]*|\d+)\s+(\d+)\s+(.*)$"
)
_CT_PAIR = re.compile(r"\b(src|dst|sport|dport|id)=(\S+)")


def parse_conntrack(header: Header) -> NatEvent | None:
    m = _CT_LINE.search(header.body)
    if not m:
        raise BadLine("not a conntrack event line ([NEW|UPDATE|DESTROY] protocol number ... src= dst= ...)")
    seconds, fraction, kind, _name, number, rest = m.groups()
    if kind == "UPDATE":
        return None
    if seconds is not None:
        when = datetime.fromtimestamp(int(seconds), UTC) + timedelta(microseconds=_micro(fraction))
    elif header.time is not None:
        when = header.time
    else:
        raise BadLine("no time stamp (conntrack -o timestamp, or a syslog time stamp)")
    values: dict[str, list[str]] = {}
    for key, value in _CT_PAIR.findall(rest):
        values.setdefault(key, []).append(value)
    srcs, dsts = values.get("src", []), values.get("dst", [])
    if len(srcs) < 2 or len(dsts) < 2:
        raise BadLine("the original and reply tuples (src= dst= twice) are incomplete")
    protocol = int(number)
    if protocol > 255:
        raise BadLine(f"protocol number {protocol} is not an IP protocol")
    # Ports: sport/dport for TCP, UDP, SCTP …; for ICMP the identifier (id=) stands for both (a
    # third id= is the entry's id of `conntrack -o id`).
    sports: list[str | None] = list(values.get("sport", []))
    dports: list[str | None] = list(values.get("dport", []))
    if len(sports) < 2 or len(dports) < 2:
        ids = values.get("id", [])
        sports = dports = list(ids) if protocol in (1, 58) and len(ids) >= 2 else [None, None]
    o_src, o_dst = _address(srcs[0], "src"), _address(dsts[0], "dst")
    r_src, r_dst = _address(srcs[1], "reply src"), _address(dsts[1], "reply dst")
    o_sport, o_dport = _port(sports[0], "sport"), _port(dports[0], "dport")
    r_sport, r_dport = _port(sports[1], "reply sport"), _port(dports[1], "reply dport")
    if (r_dst, r_dport) == (o_src, o_sport) and (r_src, r_sport) == (o_dst, o_dport):
        return None  # not translated
    return NatEvent(
        when, NAT_CREATE if kind == "NEW" else NAT_DELETE, protocol,
        o_src, o_sport, o_dst, o_dport, r_dst, r_dport, r_src, r_sport,
    )  # fmt: skip


_ASA_TAG = re.compile(r"%(?:ASA|FTD)-\d-(\d{6})")
_ASA_TIME = re.compile(
    r"([A-Z][a-z]{2}) +(\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?: [A-Z]{3,5})?: %(?:ASA|FTD)-"
)
_IFACE = r"[^\s:]+(?:\([^)]*\))?"
_ASA_PORTS = re.compile(
    rf"(Built|Teardown) (?:dynamic|static) (\w+) translation from {_IFACE}:([0-9A-Fa-f:.]+)/(\d+)(?:\([^)]*\))?"
    rf" to {_IFACE}:([0-9A-Fa-f:.]+)/(\d+)"
)
_ASA_ADDRESSES = re.compile(
    rf"(Built|Teardown) (?:dynamic|static) translation from {_IFACE}:([0-9A-Fa-f:.]+)(?:\([^)]*\))?"
    rf" to {_IFACE}:([0-9A-Fa-f:.]+)"
)


def parse_asa(header: Header, clock: Clock) -> NatEvent | None:
    tag = _ASA_TAG.search(header.body)
    if not tag:
        raise BadLine("not a Cisco ASA/FTD message (%ASA-n-nnnnnn)")
    message_id = tag.group(1)
    if message_id not in ("305009", "305010", "305011", "305012"):
        return None
    when = header.time
    if m := _ASA_TIME.search(header.body):  # the firewall's own time stamp behind a relay's header
        month = MONTHS.get(m.group(1))
        if month is not None:
            hms = (int(m.group(4)), int(m.group(5)), int(m.group(6)))
            when = clock.naive(month, int(m.group(2)), int(m.group(3)), hms, m.group(7))
    if when is None:
        raise BadLine("no time stamp")
    text = header.body[tag.end() :]
    if message_id in ("305011", "305012"):
        m = _ASA_PORTS.search(text)
        if not m:
            raise BadLine(f"{message_id} without 'translation from IF:address/port to IF:address/port'")
        verb, proto, real, real_port, mapped, mapped_port = m.groups()
        protocol = _protocol(proto)
        ports = (_port(real_port, "real port"), _port(mapped_port, "mapped port"))
    else:
        m = _ASA_ADDRESSES.search(text)
        if not m:
            raise BadLine(f"{message_id} without 'translation from IF:address to IF:address'")
        verb, real, mapped = m.groups()
        protocol, ports = None, (None, None)
    return NatEvent(
        when, NAT_CREATE if verb == "Built" else NAT_DELETE, protocol,
        _address(real, "real address"), ports[0], None, None, _address(mapped, "mapped address"), ports[1], None, None,
    )  # fmt: skip


_JUNIPER_TAG = re.compile(r"\b(?:JSERVICES|ASP)_[A-Z_]+")
_JUNIPER_PBA = re.compile(
    r"\b(?:JSERVICES|ASP)_NAT_PORT_BLOCK_(ALLOC|RELEASE|ACTIVE)\s*:\s*([0-9A-Fa-f:.]+)\s*->\s*"
    r"(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):(\d+)-(\d+)"
)
_JUNIPER_TIME = re.compile(r"\b(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\b")


def parse_juniper(header: Header) -> NatEvent | None:
    tag = _JUNIPER_TAG.search(header.body)
    if not tag:
        raise BadLine("not a Junos services message (JSERVICES_...)")
    if "_NAT_PORT_BLOCK_" not in tag.group(0):
        return None
    m = _JUNIPER_PBA.search(header.body)
    if not m:
        raise BadLine("port block message without 'private -> public:first-last'")
    kind, private, public, first, last = m.groups()
    when = header.time
    if t := _JUNIPER_TIME.search(header.body, 0, m.start()):  # the services PIC's time stamp, UTC
        try:
            y, mo, d, hh, mm, ss = (int(g) for g in t.groups())
            when = datetime(y, mo, d, hh, mm, ss, tzinfo=UTC)
        except ValueError as exc:
            raise BadLine(f"not a valid date: {exc}") from exc
    if when is None:
        raise BadLine("no time stamp")
    start, end = _port(first, "first port"), _port(last, "last port")
    assert start is not None and end is not None
    if end < start:
        raise BadLine(f"port block {start}-{end} ends before it starts")
    return NatEvent(
        when, PORT_BLOCK_DEALLOC if kind == "RELEASE" else PORT_BLOCK_ALLOC, None,
        _address(private, "private address"), None, None, None, _address(public, "public address"), None, None, None,
        start, end,
    )  # fmt: skip


_MT_SIGNATURE = re.compile(r"\bin:\S+ out:[^,]*, .*\bproto \w+")
_MT_PROTO = re.compile(r"\bproto (\w+)")
_ENDPOINT = r"(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3}))(?::(\d+))?"
_SIDE = rf"(?:\({_ENDPOINT}->{_ENDPOINT}\)|{_ENDPOINT})"
_MT_NAT = re.compile(rf"\bNAT {_SIDE}->{_SIDE}")


def parse_mikrotik(header: Header) -> NatEvent | None:
    if not _MT_SIGNATURE.search(header.body):
        raise BadLine("not a RouterOS firewall log line (in:... out:..., proto ...)")
    m = _MT_NAT.search(header.body)
    if not m:
        if " NAT " in header.body:
            raise BadLine("a NAT part that is not '(private:port->public:port)->destination:port'")
        return None
    if header.time is None:
        raise BadLine("no time stamp")
    g = m.groups()

    def endpoint(i: int, what: str) -> tuple[Address | None, int | None]:
        text = g[i] or g[i + 1]
        if text is None:
            return None, None
        return _address(text, what), _port(g[i + 2], f"{what} port")

    if g[0] or g[1]:  # source side translated: (original->translated)
        src, post_src = endpoint(0, "source"), endpoint(3, "translated source")
    else:
        src = post_src = endpoint(6, "source")
    if g[9] or g[10]:  # destination side translated
        dst, post_dst = endpoint(9, "destination"), endpoint(12, "translated destination")
    else:
        dst = post_dst = endpoint(15, "destination")
    proto = _MT_PROTO.search(header.body)
    return NatEvent(
        header.time, NAT_CREATE, _protocol(proto.group(1)) if proto else None,
        src[0], src[1], dst[0], dst[1], post_src[0], post_src[1], post_dst[0], post_dst[1],
    )  # fmt: skip


SIGNATURES: dict[str, re.Pattern[str]] = {
    "conntrack": _CT_TAG,
    "asa": _ASA_TAG,
    "juniper": _JUNIPER_TAG,
    "mikrotik": _MT_SIGNATURE,
}


def parse_line(fmt: str, header: Header, clock: Clock) -> NatEvent | None:
    if fmt == "conntrack":
        return parse_conntrack(header)
    if fmt == "asa":
        return parse_asa(header, clock)
    if fmt == "juniper":
        return parse_juniper(header)
    if fmt == "mikrotik":
        return parse_mikrotik(header)
    raise ValueError(f"unknown format {fmt!r}")


# ---------------------------------------------------------------------------------------------
# Files


def _open(path: Path) -> IO[bytes]:
    """The file's content, uncompressed if it is gzip."""
    with path.open("rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def read_lines(path: Path) -> Iterator[str]:
    """The lines of a (possibly gzip-compressed) text file, without line ends."""
    with _open(path) as f:
        for line in f:
            yield line.decode("utf-8", errors="replace").rstrip("\r\n")


def content_sha256(path: Path) -> bytes:
    """SHA-256 of the file's content (uncompressed if it is gzip): a re-compressed file is the same."""
    digest = hashlib.sha256()
    with _open(path) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


def detect_format(path: Path, limit: int = 100_000) -> str | None:
    """The format of the first line (of the first ``limit``) that one of the formats recognises."""
    for n, line in enumerate(read_lines(path)):
        if n >= limit:
            break
        for fmt, signature in SIGNATURES.items():
            if signature.search(line):
                return fmt
    return None


@dataclass
class ImportResult:
    path: Path
    format: str
    import_id: int | None = None
    imported_before: tuple[datetime, str, str] | None = None  # when, file name, by whom
    lines: int = 0
    events: int = 0
    ignored: int = 0
    rejected: int = 0
    expired: int = 0
    first_event: datetime | None = None
    last_event: datetime | None = None
    bad_lines: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        if self.imported_before is not None:
            when, name, who = self.imported_before
            return f"{self.path}: imported before ({name}, {when:%Y-%m-%d %H:%M} by {who}); nothing stored"
        text = (
            f"{self.path}: {self.format}, {self.lines:,} lines: {self.events:,} events stored, "
            f"{self.ignored:,} ignored, {self.rejected:,} rejected"
        )
        if self.expired:
            text += f", {self.expired:,} older than the retention period not stored"
        if self.first_event and self.last_event:
            first, last = self.first_event.astimezone(UTC), self.last_event.astimezone(UTC)
            text += f"; events from {first:%Y-%m-%d %H:%M:%S} to {last:%Y-%m-%d %H:%M:%S} UTC"
        for number, reason in self.bad_lines:
            text += f"\n  line {number}: {reason}"
        if self.rejected > len(self.bad_lines):
            text += f"\n  … and {self.rejected - len(self.bad_lines):,} more rejected lines"
        return text


def _row(event: NatEvent, exporter: Address) -> tuple[object, ...]:
    return (
        exporter, 0, event.time, event.event, event.protocol, event.src_addr, event.src_port, event.dst_addr,
        event.dst_port, event.post_src_addr, event.post_src_port, event.post_dst_addr, event.post_dst_port,
        event.port_range_start, event.port_range_end,
    )  # fmt: skip


def import_file(
    conn: psycopg.Connection,
    path: Path,
    fmt: str = "auto",
    *,
    year: int | None = None,
    zone: str = DEFAULT_TIMEZONE,
    exporter: str | None = None,
    os_user: str | None = None,
) -> ImportResult:
    """Import one NAT log file in one transaction (a savepoint if ``conn`` is in a transaction)."""
    if not path.is_file():
        raise NatLogError(f"{path}: no such file")
    try:
        tz: tzinfo = ZoneInfo(zone)
    except (KeyError, ValueError) as exc:
        raise NatLogError(f"unknown time zone {zone!r}") from exc
    file_time = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    fixed_exporter = exporter.strip("[]") if exporter else None
    if fixed_exporter is not None and not _is_address(fixed_exporter):
        raise NatLogError(f"--exporter {exporter!r} is not an IP address")
    try:
        digest = content_sha256(path)
        if fmt == "auto":
            detected = detect_format(path)
            if detected is None:
                raise NatLogError(
                    f"{path}: no line in a known NAT log format ({', '.join(FORMATS)}); nothing imported"
                )
            fmt = detected
        elif fmt not in FORMATS:
            raise NatLogError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise NatLogError(f"{path}: cannot read: {exc}") from exc

    result = ImportResult(path, fmt)
    clock = Clock(tz, year, file_time)
    with conn.transaction():
        row = conn.execute(
            "select flow.begin_nat_import(%s, %s, %s, %s::inet, %s), now() - flow.retention()",
            [path.name, digest, fmt, fixed_exporter, os_user],
        ).fetchone()
        assert row is not None
        import_id, cutoff = row
        if import_id is None:
            before = conn.execute(
                "select imported_at, file_name, coalesce(os_user || ' as ' || db_role, db_role)"
                "  from flow.nat_imports where sha256 = %s",
                [digest],
            ).fetchone()
            assert before is not None
            result.imported_before = (before[0], before[1], before[2])
            return result
        result.import_id = int(import_id)
        recognised = False
        days: set[date] = set()
        with conn.cursor().copy(COPY_NAT_TEXT) as copy:  # type: ignore[arg-type]
            for number, line in enumerate(read_lines(path), 1):
                result.lines += 1
                if not line.strip():
                    result.ignored += 1
                    continue
                try:
                    header = split_header(line, clock)
                    event = parse_line(fmt, header, clock)
                except (ValueError, OverflowError) as exc:  # BadLine, or a value out of range
                    result.rejected += 1
                    if len(result.bad_lines) < BAD_LINES_SHOWN:
                        result.bad_lines.append((number, f"{exc}: {line[:120]!r}"))
                    continue
                recognised = True
                if event is None:
                    result.ignored += 1
                    continue
                if event.time < cutoff:
                    result.expired += 1
                    continue
                source = fixed_exporter or host_address(header.host) or UNKNOWN_EXPORTER
                copy.write_row(_row(event, source))
                result.events += 1
                days.add(event.time.astimezone(UTC).date())
                if result.first_event is None or event.time < result.first_event:
                    result.first_event = event.time
                if result.last_event is None or event.time > result.last_event:
                    result.last_event = event.time
        if not recognised:
            raise NatLogError(f"{path}: no line is a valid {fmt} line; nothing imported")
        if days:
            # Partitions for the days the events fall on (their rows wait in the default partition
            # until then; making the partition moves them in).
            conn.execute("select flow.create_day_partitions('nat_events', %s::date[])", [sorted(days)])
        conn.execute(
            "select flow.finish_nat_import(%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                result.import_id, result.lines, result.events, result.ignored, result.rejected,
                result.expired, result.first_event, result.last_event,
            ],
        )  # fmt: skip
    return result
