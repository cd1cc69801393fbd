"""The billing run (BIL-2) as the financial background job ``billing.run``: a signed-in billing user
queues it with bus.submit_job, a real scheduler process runs it as its own login role with the
submitter's rights, its progress and result are on the job; and the ``mango billing`` commands run,
preview, issue and cancel runs.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from db.settings import ROOT, Settings
from tests.agents_helpers import AgentProcesses, job_row, start_scheduler, wait_finished


@dataclass
class Operator:
    id: int
    code: str


@pytest.fixture
def operator(admin: psycopg.Connection) -> Operator:
    """A new operator with document series and three customers, each with a service of 500 a month
    since 2024 (committed)."""
    row = admin.execute("select tests.billing_operator()").fetchone()
    assert row is not None
    code = admin.execute("select code from crm.operators where id = %s", [row[0]]).fetchone()
    assert code is not None
    op = Operator(int(row[0]), str(code[0]))
    admin.execute(
        "select crm.activate_service(tests.make_customer(%(op)s), t, '2024-01-01', null, '{\"state\": \"active\"}')"
        "  from tests.make_tariff(500, %(op)s) t, generate_series(1, 3)",
        {"op": op.id},
    )
    return op


def submit_as_billing(settings: Settings, params: dict[str, object]) -> tuple[int, int]:
    """Queue a billing.run job as a signed-in billing user (as the web client does); its id and the user's."""
    with psycopg.connect(settings.admin_conninfo()) as conn:
        conn.execute("call tests.as_staff('{billing}')")
        row = conn.execute(
            "select bus.submit_job('billing.run', null, %s), auth.user_id()", [Jsonb(params)]
        ).fetchone()
        assert row is not None
        conn.commit()
    return int(row[0]), int(row[1])


def no_financial_job_left(admin: psycopg.Connection) -> None:
    # A financial job another test's killed scheduler left running would hold this one back.
    admin.execute(
        "update bus.jobs set state = 'failed', error = 'left by an earlier test', finished_at = now()"
        " where financial and state in ('queued', 'running')"
    )


def test_billing_run_job_runs_through_the_bus_with_progress_and_result(
    settings: Settings, admin: psycopg.Connection, agents: AgentProcesses, operator: Operator
) -> None:
    no_financial_job_left(admin)
    preview_id, user_id = submit_as_billing(
        settings, {"operator": operator.id, "period": "2025-03", "preview": True}
    )
    job_id, _ = submit_as_billing(settings, {"operator": operator.id, "period": "2025-03"})
    assert admin.execute("select financial from bus.jobs where id = %s", [job_id]).fetchone() == (True,)
    start_scheduler(admin, agents)

    preview = wait_finished(admin, preview_id, timeout=120)
    assert preview["state"] == "done", preview["error"]
    assert preview["result"]["state"] == "preview"
    assert preview["result"]["counts"]["charges"] == 3

    job = wait_finished(admin, job_id, timeout=120)
    assert job["state"] == "done", job["error"]
    result = job["result"]
    assert (result["state"], result["period"], result["operator"]) == ("done", "2025-03", operator.code)
    assert result["counts"]["charges"] == 3
    assert result["counts"]["documents"] == 3
    assert Decimal(str(result["totals"]["with_vat"])) == Decimal("1500.00")
    assert job["progress"] == 1.0
    assert job["message"] == f"run {result['run']}: created 3 charges and 3 documents, 1500.00 with VAT"

    # The run is the job's, made with the rights of the user who queued it; the preview wrote no charge.
    run = admin.execute(
        "select job_id, created_by, state from billing.runs where id = %s", [result["run"]]
    ).fetchone()
    assert run == (job_id, user_id, "done")
    charges = admin.execute(
        "select count(*), count(*) filter (where run_id = %s) from billing.charges where operator_id = %s",
        [result["run"], operator.id],
    ).fetchone()
    assert charges == (3, 3)

    # The same period again as a job: nothing new.
    again_id, _ = submit_as_billing(settings, {"operator": operator.id, "period": "2025-03"})
    again = wait_finished(admin, again_id, timeout=120)
    assert again["state"] == "done", again["error"]
    assert (again["result"]["counts"]["charges"], again["result"]["counts"]["documents"]) == (0, 0)


def test_support_cannot_queue_a_billing_run(settings: Settings, operator: Operator) -> None:
    with psycopg.connect(settings.admin_conninfo()) as conn:
        conn.execute("call tests.as_staff('{support}')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "select bus.submit_job('billing.run', null, %s)",
                [Jsonb({"operator": operator.id, "period": "2025-03"})],
            )


def run_mango(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": settings.database_url, "MANGO_VAR": str(settings.var_dir), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "mango.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_mango_billing_commands_preview_run_cancel_and_issue(
    settings: Settings, admin: psycopg.Connection, operator: Operator
) -> None:
    preview = run_mango(
        settings, "billing", "run", "--operator", operator.code, "--period", "2025-03", "--preview", "--here"
    )
    assert preview.returncode == 0, preview.stderr
    assert f"operator {operator.code}, 2025-03, preview" in preview.stdout
    assert "charges   3 (recurring 3)" in preview.stdout
    assert admin.execute(
        "select count(*) from billing.charges where operator_id = %s", [operator.id]
    ).fetchone() == (0,)

    ran = run_mango(
        settings, "billing", "run", "--operator", str(operator.id), "--period", "2025-03", "--here"
    )
    assert ran.returncode == 0, ran.stderr
    assert "2025-03, done" in ran.stdout
    assert "documents 3 (invoice 3) for 3 customers" in ran.stdout
    assert "with VAT 1500.00" in ran.stdout
    first = admin.execute(
        "select max(id) from billing.runs where operator_id = %s and state = 'done'", [operator.id]
    ).fetchone()
    assert first is not None

    cancelled = run_mango(settings, "billing", "cancel", str(first[0]), "--reason", "wrong month")
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled" in cancelled.stdout and "deleted 3 draft documents" in cancelled.stdout

    ran = run_mango(settings, "billing", "run", "--operator", operator.code, "--period", "2025-03", "--here")
    assert ran.returncode == 0, ran.stderr
    second = admin.execute(
        "select max(id) from billing.runs where operator_id = %s and state = 'done'", [operator.id]
    ).fetchone()
    assert second is not None
    issued = run_mango(settings, "billing", "issue", str(second[0]))
    assert issued.returncode == 0, issued.stderr
    assert "issued 3 documents, numbers FV" in issued.stdout

    # An issued run cannot be cancelled: the database's message, exit 1.
    refused = run_mango(settings, "billing", "cancel", str(second[0]))
    assert refused.returncode == 1
    assert "only a finished run whose documents are not issued can be cancelled" in refused.stderr
    bad = run_mango(settings, "billing", "run", "--operator", operator.code, "--period", "March", "--here")
    assert bad.returncode == 1 and "the period is a month (YYYY-MM)" in bad.stderr


def test_mango_billing_run_submits_the_job_and_prints_its_result(
    settings: Settings, admin: psycopg.Connection, agents: AgentProcesses, operator: Operator
) -> None:
    no_financial_job_left(admin)
    start_scheduler(admin, agents)
    ran = run_mango(settings, "billing", "run", "--operator", operator.code, "--period", "2025-02")
    assert ran.returncode == 0, ran.stderr
    assert "queued: billing.run" in ran.stdout
    assert "2025-02, done" in ran.stdout and "charges   3 (recurring 3)" in ran.stdout
    job_id = int(ran.stdout.split()[1])
    assert job_row(admin, job_id)["state"] == "done"
