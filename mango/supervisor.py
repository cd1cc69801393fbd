"""``mango run``: the staff web client and the default agents as child processes in the
foreground; Ctrl-C or SIGTERM stops them all, and so does any one of them ending."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from db.settings import ROOT, Settings

# Each child is this same command line: `mango web`, `mango agent NAME`.
COMMAND = [sys.executable, "-m", "mango.cli"]


def run(settings: Settings, workers: int = 2) -> int:
    """Start the web client (with ``workers`` workers) and the agents; return when they stop."""
    from agents import DEFAULT_AGENTS
    from db.demo import demo_logins

    logins = demo_logins(settings)  # only users the demo created here: never an operator's own

    procs = [subprocess.Popen([*COMMAND, "web", "--workers", str(workers)], cwd=ROOT)]
    for name in DEFAULT_AGENTS:
        procs.append(subprocess.Popen([*COMMAND, "agent", name], cwd=ROOT))

    print(f"\nMango ISP staff client: http://{settings.web_host}:{settings.web_port}/")
    if logins:
        print("Demo logins (user / password):")
        for user, password, roles in logins:
            print(f"  {user:12} {password:18} {roles}")
    print("Ctrl-C stops everything.\n", flush=True)

    def stop(*_: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, lambda *_: stop())
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    return 0
