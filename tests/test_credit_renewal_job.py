"""The daily renewal of prepaid services from uniCredit (UC-2), run by a real scheduler process as
its own login role: the job pays the periods that have begun from credit, blocks for credit the
services whose customer has too little, and is financial; a second run the same day pays nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import psycopg
import pytest

from agents.scheduler import BUSINESS_DAY, PERIODIC
from tests.agents_helpers import AgentProcesses, start_scheduler, submit_sql, wait_finished


@dataclass
class Prepaid:
    operator: int
    paid: int  # a service whose customer has 500 of credit
    short: int  # a service whose customer has 100
    invoiced: int  # a service on the operator's default (invoice) plan


@pytest.fixture
def prepaid(admin: psycopg.Connection) -> Prepaid:
    """Two customers of a new operator with services of 400 a month on a prepaid-credit plan, one
    with enough credit and one without, and a third service on the default plan (committed)."""
    row = admin.execute(
        "select o, tests.make_customer(o, 'Novák', 'Jan'), tests.make_customer(o, 'Svobodová', 'Eva'),"
        "       tests.make_tariff(400, o)"
        "  from tests.make_operator() o"
    ).fetchone()
    assert row is not None
    operator, rich, poor, tariff = (int(v) for v in row)
    with admin.transaction():
        admin.execute("call tests.as_staff('{billing}')")
        admin.execute("select billing.top_up_cash(%s, 500), billing.top_up_cash(%s, 100)", [rich, poor])
    row = admin.execute(
        "select tests.credit_service(%s, %s), tests.credit_service(%s, %s), tests.net_make_service(%s, %s)",
        [rich, tariff, poor, tariff, rich, tariff],
    ).fetchone()
    assert row is not None
    return Prepaid(operator, int(row[0]), int(row[1]), int(row[2]))


def test_the_renewal_is_a_daily_job_of_the_business_day() -> None:
    daily = {p.kind: p for p in PERIODIC}
    assert daily["billing.renew_prepaid"].day_in == BUSINESS_DAY
    # After the service dates: a suspension that ends today is renewed today.
    kinds = [p.kind for p in PERIODIC]
    assert kinds.index("billing.renew_prepaid") > kinds.index("crm.apply_due_service_dates")


def test_renewal_job_pays_from_credit_and_blocks_as_the_scheduler(
    admin: psycopg.Connection, agents: AgentProcesses, prepaid: Prepaid
) -> None:
    # A financial job another test's killed scheduler left running would hold this one back.
    admin.execute(
        "update bus.jobs set state = 'failed', error = 'left by an earlier test', finished_at = now()"
        " where financial and state in ('queued', 'running')"
    )
    job_id = submit_sql(admin, "billing.renew_prepaid", {"operator": prepaid.operator})
    assert admin.execute("select financial from bus.jobs where id = %s", [job_id]).fetchone() == (True,)
    start_scheduler(admin, agents)
    job = wait_finished(admin, job_id, timeout=120)
    assert job["state"] == "done", job["error"]
    today = admin.execute("select crm.business_date(%s)", [prepaid.operator]).fetchone()
    assert today is not None
    assert job["result"] == {
        "today": today[0].isoformat(),
        "operator": prepaid.operator,
        "renewed": 1,
        "amount": "400.00",
        "returned": "0.00",
        "blocked": 1,
        "unblocked": 0,
    }
    states: dict[int, str] = dict(
        admin.execute(
            "select id, state || ' ' || coalesce(block_kind || '/' || block_reason, '-') from crm.services"
            " where id = any(%s)",
            [[prepaid.paid, prepaid.short, prepaid.invoiced]],
        ).fetchall()
    )
    assert states == {
        prepaid.paid: "active -",
        prepaid.short: "blocked system/credit",
        prepaid.invoiced: "active -",
    }
    # Who did it: the scheduler's own role, in the movement and in the service's audit; and the
    # block was told to provisioning.
    assert admin.execute(
        "select amount, db_role, created_by from billing.credit_movements where service_id = %s",
        [prepaid.paid],
    ).fetchone() == (Decimal("400.00"), "mango_agent_scheduler", None)
    assert admin.execute(
        "select db_role from audit.records where table_schema = 'crm' and table_name = 'services'"
        " and record_id = %s and operation = 'update' and new_values ->> 'state' = 'blocked'",
        [str(prepaid.short)],
    ).fetchall() == [("mango_agent_scheduler",)]
    assert admin.execute(
        "select count(*) from bus.events where topic = 'provisioning' and entity = %s",
        [f"service:{prepaid.short}"],
    ).fetchone() == (1,)

    # The same day again: nothing is paid twice, nothing changes.
    again = wait_finished(
        admin, submit_sql(admin, "billing.renew_prepaid", {"operator": prepaid.operator}), 120
    )
    assert again["state"] == "done", again["error"]
    assert (again["result"]["renewed"], again["result"]["blocked"], again["result"]["unblocked"]) == (0, 0, 0)
