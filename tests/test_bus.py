"""The bus loop (agents/bus.py) in real agent processes against the test database.

The agents are tests.agents_helpers:effects (one event at a time, records every handling in
tests.handlings and its effect in tests.effects) and :effects_batch (a whole batch per statement).
Each test uses its own topics. A handler that must still be at work while the test acts (is killed,
sees its event change, gets SIGTERM) waits for a gate that the test opens afterwards; no test
counts on a handler taking long enough.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from db.settings import ROOT, Settings
from tests.agents_helpers import TEST_ROLE, AgentProcesses, open_gate, wait_for, wait_listening

EFFECTS = "tests.agents_helpers:effects"
EFFECTS_BATCH = "tests.agents_helpers:effects_batch"


pytestmark = pytest.mark.usefixtures("agent_tables")


def enqueue(admin: psycopg.Connection, topic: str, entity: str, payload: dict[str, Any] | None = None) -> int:
    row = admin.execute("select bus.enqueue(%s, %s, %s)", [topic, entity, Jsonb(payload or {})]).fetchone()
    assert row is not None
    return int(row[0])


def effect(admin: psycopg.Connection, topic: str, entity: str) -> tuple[int, int, int] | None:
    row = admin.execute(
        "select revision, attempts, handled from tests.effects where topic = %s and entity = %s",
        [topic, entity],
    ).fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else None


def handlings(admin: psycopg.Connection, topic: str, entity: str) -> list[tuple[Any, ...]]:
    return admin.execute(
        "select revision, attempt, pid, started_at, finished_at from tests.handlings "
        "where topic = %s and entity = %s order by id",
        [topic, entity],
    ).fetchall()


def outbox_rows(admin: psycopg.Connection, topic: str) -> int:
    row = admin.execute("select count(*) from bus.events where topic = %s", [topic]).fetchone()
    return int(row[0]) if row else 0


def test_event_of_killed_agent_is_handled_again_after_the_lease_with_one_effect(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    first = agents.start(EFFECTS, MANGO_TEST_TOPICS="t.kill", MANGO_TEST_LEASE=2)
    wait_listening(admin, first)
    # The first attempt waits for a gate that never opens: it is in the middle of its work when killed.
    enqueue(admin, "t.kill", "k1", {"gate": "kill-k1", "gate_attempt": 1})
    wait_for("the first handling to start", lambda: handlings(admin, "t.kill", "k1"))
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert effect(admin, "t.kill", "k1") is None

    second = agents.start(EFFECTS, MANGO_TEST_TOPICS="t.kill", MANGO_TEST_LEASE=2)
    assert wait_for("the effect", lambda: effect(admin, "t.kill", "k1")) == (1, 2, 1)
    runs = handlings(admin, "t.kill", "k1")
    assert [(r[1], r[2]) for r in runs] == [(1, first.pid), (2, second.pid)]
    assert runs[0][4] is None and runs[1][4] is not None  # the first never finished
    assert outbox_rows(admin, "t.kill") == 0


def test_ten_thousand_events_queued_while_no_agent_runs_are_all_handled(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    admin.execute(
        "select count(bus.enqueue('t.many', g::text, jsonb_build_object('n', g))) from generate_series(1, 10000) g"
    )
    assert outbox_rows(admin, "t.many") == 10000
    agents.start(EFFECTS_BATCH, MANGO_TEST_TOPICS="t.many")

    def all_done() -> bool:
        row = admin.execute("select count(*) from tests.effects where topic = 't.many'").fetchone()
        return row is not None and row[0] == 10000

    wait_for("10,000 effects", all_done, timeout=120, every=0.2)
    assert outbox_rows(admin, "t.many") == 0
    row = admin.execute(
        "select min(handled), max(handled) from tests.effects where topic = 't.many'"
    ).fetchone()
    assert row == (1, 1)


def test_two_agents_never_handle_the_same_event_at_the_same_time(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    env: dict[str, str | int | float] = {
        "MANGO_TEST_TOPICS": "t.pair",
        "MANGO_TEST_LEASE": 2,
        "MANGO_TEST_BATCH": 5,
    }
    procs = [agents.start(EFFECTS, **env), agents.start(EFFECTS, **env)]
    for proc in procs:
        wait_listening(admin, proc)
    # Event 1 is held (its handler waits for a gate) past its lease: the agent holding it must keep
    # extending the lease, and the other agent must not take it meanwhile.
    admin.execute(
        "select count(bus.enqueue('t.pair', g::text, case when g = 1 then jsonb_build_object('gate', 'pair-1')"
        "                                                 else jsonb_build_object('sleep', 0.01) end))"
        "  from generate_series(1, 200) g"
    )
    wait_for(
        "event 1 to be held past twice its first lease, the lease extended",
        lambda: (
            admin.execute(
                "select clock_timestamp() > h.started_at + interval '4 seconds'"
                "       and e.lease_until > h.started_at + interval '2 seconds'"
                "  from tests.handlings h join bus.events e on e.topic = h.topic and e.entity = h.entity"
                " where h.topic = 't.pair' and h.entity = '1'"
            ).fetchone()
            == (True,)
        ),
        timeout=120,
    )
    assert len(handlings(admin, "t.pair", "1")) == 1
    open_gate(admin, "pair-1")

    def all_done() -> bool:
        row = admin.execute("select count(*) from tests.effects where topic = 't.pair'").fetchone()
        return row is not None and row[0] == 200

    wait_for("200 effects", all_done, timeout=120, every=0.1)
    overlaps = admin.execute(
        "select a.entity from tests.handlings a join tests.handlings b "
        "  on a.topic = b.topic and a.entity = b.entity and a.id < b.id "
        " where a.topic = 't.pair' "
        "   and tstzrange(a.started_at, coalesce(a.finished_at, 'infinity')) "
        "    && tstzrange(b.started_at, coalesce(b.finished_at, 'infinity'))"
    ).fetchall()
    assert overlaps == []
    row = admin.execute(
        "select count(*), count(distinct entity), count(distinct pid) from tests.handlings where topic = 't.pair'"
    ).fetchone()
    assert row == (200, 200, 2)  # every event once, and both agents took part
    assert outbox_rows(admin, "t.pair") == 0


def test_changes_before_the_agent_runs_coalesce_and_a_change_while_claimed_is_handled_again(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    for n in range(3):
        enqueue(admin, "t.coalesce", "c1", {"n": n})
    assert outbox_rows(admin, "t.coalesce") == 1
    agents.start(EFFECTS, MANGO_TEST_TOPICS="t.coalesce")
    assert wait_for("the effect of c1", lambda: effect(admin, "t.coalesce", "c1")) == (3, 1, 1)
    assert [r[0] for r in handlings(admin, "t.coalesce", "c1")] == [3]

    enqueue(admin, "t.coalesce", "c2", {"gate": "coalesce-c2"})
    wait_for("c2 to be handled", lambda: handlings(admin, "t.coalesce", "c2"))
    enqueue(admin, "t.coalesce", "c2", {})  # changes while the agent holds it (at the gate)
    open_gate(admin, "coalesce-c2")
    assert wait_for("c2 handled twice", lambda: effect(admin, "t.coalesce", "c2") == (2, 1, 2))
    assert [r[0] for r in handlings(admin, "t.coalesce", "c2")] == [1, 2]
    wait_for("the outbox to empty", lambda: outbox_rows(admin, "t.coalesce") == 0)


def test_failing_event_backs_off_dies_after_max_attempts_and_retry_dead_brings_it_back(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    admin.execute("insert into tests.poison (entity) values ('p1')")
    agents.start(EFFECTS, MANGO_TEST_TOPICS="t.fail", MANGO_TEST_MAX_ATTEMPTS=3)
    enqueue(admin, "t.fail", "p1")

    backing_off = wait_for(
        "the first failure",
        lambda: admin.execute(
            "select attempts, last_error, lease_until is null, available_at > now() "
            "  from bus.events where topic = 't.fail' and entity = 'p1' and last_error is not null"
        ).fetchone(),
    )
    assert backing_off[0] == 1 and "entity p1 is poisoned" in backing_off[1]
    assert backing_off[2] is True and backing_off[3] is True

    dead = wait_for(
        "the event to die",
        lambda: admin.execute(
            "select id, attempts, last_error from bus.dead_events where topic = 't.fail' and entity = 'p1'"
        ).fetchone(),
    )
    assert dead[1] == 3 and dead[2] == "RuntimeError: entity p1 is poisoned"
    assert outbox_rows(admin, "t.fail") == 0
    assert [r[1] for r in handlings(admin, "t.fail", "p1")] == [1, 2, 3]
    assert effect(admin, "t.fail", "p1") is None

    admin.execute("delete from tests.poison where entity = 'p1'")
    admin.execute("select bus.retry_dead(%s)", [dead[0]])
    assert wait_for("the retried effect", lambda: effect(admin, "t.fail", "p1")) == (1, 1, 1)
    row = admin.execute("select count(*) from bus.dead_events where topic = 't.fail'").fetchone()
    assert row == (0,)


def test_sigterm_finishes_the_event_in_hand_releases_the_rest_and_exits_zero(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    proc = agents.start(EFFECTS, MANGO_TEST_TOPICS="t.term")
    wait_listening(admin, proc)
    with admin.transaction():  # one transaction: both events are claimed in one batch
        enqueue(admin, "t.term", "s1", {"gate": "term-s1"})
        enqueue(admin, "t.term", "s2")
    wait_for("s1 to be handled", lambda: handlings(admin, "t.term", "s1"))
    # The signal is pending in the agent before the gate opens: it is delivered before the agent can
    # see the gate, so s1 is still in hand when it arrives.
    proc.send_signal(signal.SIGTERM)
    open_gate(admin, "term-s1")
    assert proc.wait(timeout=30) == 0
    assert effect(admin, "t.term", "s1") == (1, 1, 1)
    assert effect(admin, "t.term", "s2") is None
    row = admin.execute(
        "select attempts, claimed_by, lease_until from bus.events where topic = 't.term' and entity = 's2'"
    ).fetchone()
    assert row == (0, None, None)
    assert '"msg": "agent stopped"' in agents.logs()


def test_agent_reconnects_when_its_database_connections_are_terminated(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    proc = agents.start(EFFECTS, MANGO_TEST_TOPICS="t.reconnect")
    wait_listening(admin, proc)
    enqueue(admin, "t.reconnect", "r1")
    wait_for("r1", lambda: effect(admin, "t.reconnect", "r1"))

    row = admin.execute(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity "
        " where datname = current_database() and usename = %s",
        [TEST_ROLE],
    ).fetchone()
    assert row is not None and row[0] >= 1
    enqueue(admin, "t.reconnect", "r2")
    # The handler's own journal connection was terminated too: its first try may fail and be retried.
    revision, _attempts, handled = wait_for("r2", lambda: effect(admin, "t.reconnect", "r2"))
    assert (revision, handled) == (1, 1)
    assert proc.poll() is None
    assert "database error, reconnecting" in agents.logs()


def test_unknown_agent_name_is_an_error_listing_the_known_agents(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agents", "no_such_agent"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"DATABASE_URL": settings.database_url, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "unknown agent 'no_such_agent'; known agents: flowcollector, scheduler" in result.stderr


def test_agent_logs_json_lines_and_serves_prometheus_metrics(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = agents.start(EFFECTS, MANGO_TEST_TOPICS="t.metrics", MANGO_METRICS_PORT_TESTEFFECTS=port)
    wait_listening(admin, proc)
    enqueue(admin, "t.metrics", "m1")
    wait_for("m1", lambda: effect(admin, "t.metrics", "m1"))

    def metrics() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    text = metrics()
    assert 'mango_bus_events_handled_total{agent="testeffects"} 1.0' in text
    assert 'mango_bus_batch_seconds_count{agent="testeffects"} 1.0' in text
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    records = [json.loads(line) for line in agents.logs().splitlines() if line.strip()]
    assert [r["msg"] for r in records if r["msg"] in ("agent starting", "listening", "agent stopped")] == [
        "agent starting",
        "listening",
        "agent stopped",
    ]
    assert records[-1]["handled"] == 1 and records[-1]["agent"] == "testeffects"


def test_one_bad_event_in_a_batch_does_not_hold_back_the_others(
    admin: psycopg.Connection, agents: AgentProcesses
) -> None:
    admin.execute("insert into tests.poison (entity) values ('b3')")
    with admin.transaction():
        for n in range(1, 6):
            enqueue(admin, "t.batch", f"b{n}")
    agents.start(EFFECTS_BATCH, MANGO_TEST_TOPICS="t.batch", MANGO_TEST_MAX_ATTEMPTS=1)
    dead = wait_for(
        "b3 to die",
        lambda: admin.execute(
            "select attempts, last_error from bus.dead_events where topic = 't.batch' and entity = 'b3'"
        ).fetchone(),
    )
    assert dead == (1, "RuntimeError: poisoned entities in the batch: b3")
    wait_for(
        "the other four effects",
        lambda: admin.execute(
            "select 1 from tests.effects where topic = 't.batch' having count(*) = 4"
        ).fetchone(),
    )
    rows = admin.execute("select entity, handled from tests.effects where topic = 't.batch' order by entity")
    assert rows.fetchall() == [("b1", 1), ("b2", 1), ("b4", 1), ("b5", 1)]
    assert outbox_rows(admin, "t.batch") == 0
