"""The layout of the Python code: ``db/`` is the database package only, and ``mango run`` (the
supervisor in ``mango.supervisor``) starts the web client and the agents and stops them all."""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from db.settings import ROOT, Settings

# What the database package may not depend on: the command line, the processes, the web client.
NOT_IN_DB = ("agents", "webclient", "mango", "bench", "tests")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_database_package_imports_neither_agents_nor_the_web_client_nor_the_command_line() -> None:
    offending = {
        str(path.relative_to(ROOT)): sorted(n for n in _imports(path) if n.split(".")[0] in NOT_IN_DB)
        for path in sorted((ROOT / "db").rglob("*.py"))
    }
    assert {path: names for path, names in offending.items() if names} == {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_mango_run_serves_the_web_client_with_the_agents_and_sigterm_stops_them_all(
    settings: Settings,
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "MANGO_VAR": str(settings.var_dir),
        "MANGO_WEB_PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "mango.cli", "run", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        answered = False
        while not answered and proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    answered = response.status == 200
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        assert answered, "the web client did not answer"
        children = _children(proc.pid)
        assert len(children) == 2  # the web client and the scheduler
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert f"http://{settings.web_host}:{port}/" in output
    assert not [pid for pid in children if _alive(pid)]
