"""Mango agents: small processes that act on the bus (``mango agent NAME``).

A bus agent is a module here exposing ``AGENT`` (an :class:`agents.bus.Agent`); it runs the one
loop of :mod:`agents.bus`. An agent that is not driven by the bus (the flow collector, a UDP
receiver) exposes ``main(settings) -> int`` instead. ``NAME`` is a registered agent name, or
``package.module:attribute`` naming an ``Agent`` elsewhere (tests and extensions use this).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module

from agents.bus import Agent, Runner, configure_logging
from db.settings import Settings

# Agent name -> module holding its AGENT (or its main).
AGENTS: dict[str, str] = {
    "scheduler": "agents.scheduler",
    "flowcollector": "agents.flowcollector",
}

# The agents `mango run` starts.
DEFAULT_AGENTS: tuple[str, ...] = ("scheduler",)

MainFunction = Callable[[Settings], int]


class UnknownAgent(LookupError):
    pass


def load_agent(name: str) -> Agent | MainFunction:
    """The :class:`Agent` called ``name`` (a registered name or ``module:attribute``), or the
    ``main`` function of an agent that does not run the bus loop."""
    if name in AGENTS:
        module_name, attribute = AGENTS[name], "AGENT"
    elif ":" in name:
        module_name, attribute = name.split(":", 1)
    else:
        known = ", ".join(sorted(AGENTS))
        raise UnknownAgent(f"unknown agent {name!r}; known agents: {known} (or module:attribute)")
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise UnknownAgent(f"cannot load agent {name!r}: {exc}") from exc
    agent = getattr(module, attribute, None)
    if isinstance(agent, Agent):
        return agent
    main = getattr(module, "main", None) if name in AGENTS else None
    if agent is None and callable(main):
        return main  # type: ignore[no-any-return]
    raise UnknownAgent(f"{name!r} is not an agent (an agents.bus.Agent named {attribute})")


def run_agent(name: str, settings: Settings, conninfo: str | None = None) -> int:
    """Run one agent until SIGTERM/SIGINT; the exit code (2 when there is no such agent)."""
    try:
        agent = load_agent(name)
    except UnknownAgent as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not isinstance(agent, Agent):
        return int(agent(settings))
    configure_logging()
    return Runner(agent, settings, conninfo).run()
