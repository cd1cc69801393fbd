"""crm.next_number under concurrency: numbers are unique and gap-free, rolled-back ones reused."""

from __future__ import annotations

import os
import secrets
import threading

import psycopg
import pytest

from db.settings import Settings

THREADS = 8
PER_THREAD = 50


@pytest.fixture
def series(settings: Settings) -> tuple[int, str]:
    """A fresh operator (committed: the workers need to see it) with a continuous series `gapless`."""
    code = f"ns-{os.getpid()}-{secrets.token_hex(3)}"
    with psycopg.connect(settings.admin_conninfo(), autocommit=True) as conn:
        row = conn.execute(
            "insert into crm.operators (code, name, vat_payer) values (%s, %s, false) returning id",
            [code, f"Series test {code}"],
        ).fetchone()
        assert row is not None
        conn.execute(
            "insert into crm.number_series (operator_id, kind, format, yearly) values (%s, 'gapless', '{N}', false)",
            [row[0]],
        )
    return int(row[0]), "gapless"


def _issue(
    settings: Settings,
    operator_id: int,
    kind: str,
    worker: int,
    start: threading.Barrier,
    committed: list[int],
    errors: list[BaseException],
) -> None:
    try:
        # The console (taking numbers directly is for billing and administrators; the functions that
        # number customers and documents run as the owner).
        with psycopg.connect(settings.admin_conninfo()) as conn:
            start.wait(timeout=60)
            for i in range(PER_THREAD):
                keep = (worker + i) % 4 != 0
                with conn.transaction():
                    row = conn.execute("select crm.next_number(%s, %s)", [operator_id, kind]).fetchone()
                    assert row is not None
                    if not keep:
                        raise psycopg.Rollback()  # this number goes back to the series
                if keep:
                    committed.append(int(row[0]))
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def test_concurrent_numbers_are_gap_free_and_unique(settings: Settings, series: tuple[int, str]) -> None:
    operator_id, kind = series
    committed: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)
    workers = [
        threading.Thread(target=_issue, args=(settings, operator_id, kind, w, start, committed, errors))
        for w in range(THREADS)
    ]
    for t in workers:
        t.start()
    for t in workers:
        t.join()

    assert errors == []
    rolled_back = sum(1 for w in range(THREADS) for i in range(PER_THREAD) if (w + i) % 4 == 0)
    assert len(committed) == THREADS * PER_THREAD - rolled_back
    assert sorted(committed) == list(range(1, len(committed) + 1))

    with psycopg.connect(settings.admin_conninfo()) as conn:
        row = conn.execute(
            "select c.last_value from crm.number_series_counters c join crm.number_series s on s.id = c.series_id"
            " where s.operator_id = %s and s.kind = %s",
            [operator_id, kind],
        ).fetchone()
    assert row == (len(committed),)


def test_a_rolled_back_number_is_issued_again(settings: Settings, series: tuple[int, str]) -> None:
    operator_id, kind = series
    with psycopg.connect(settings.admin_conninfo()) as conn:
        with conn.transaction():
            first = conn.execute("select crm.next_number(%s, %s)", [operator_id, kind]).fetchone()
            raise psycopg.Rollback()
        with conn.transaction():
            again = conn.execute("select crm.next_number(%s, %s)", [operator_id, kind]).fetchone()
    assert first == again == ("1",)
