"""Running a plan: start ready steps through ``Send``, pass results on, skip after failures.

After the supervisor, every step without dependencies starts in one superstep. After each
superstep the ``next_steps`` node marks finished steps ``ok`` or ``failed``, skips the dependents
of failed (or skipped) steps with the reason, and starts every step whose inputs are all ``ok``,
handing it their answers and tool outputs. When nothing is left to start it goes to compose.

Fast path: a step that runs alone and whose next steps wait for it alone carries its
continuation in its task (``AgentTask["after"]``, worked out when it is sent): when it succeeds
its node records the new status and sends those steps (or goes to compose) itself, with no
``next_steps`` superstep in between. Failures and joins of parallel steps go through
``next_steps``.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import Command, Send

from nova_graph.models.offline import OFFLINE_NOTICE
from nova_graph.state import (
    AgentResult,
    AgentTask,
    Failure,
    MemoryRef,
    NovaState,
    PlanStep,
    StepAfter,
    StepInput,
    StepStatus,
)

NEXT_STEPS_NODE = "next_steps"
COMPOSE_NODE = "compose"
MAX_INPUT_CHARS = 4000  # per upstream answer or tool output handed on


def initial_status(steps: list[PlanStep]) -> dict[str, StepStatus]:
    """Steps without dependencies start now; the rest wait."""
    return {
        s["id"]: StepStatus(state="running" if not s["depends_on"] else "pending", reason="")
        for s in steps
    }


def advance(
    steps: list[PlanStep],
    status: dict[str, StepStatus],
    results: dict[str, AgentResult],
    failures: list[Failure],
    step_results: dict[str, AgentResult] | None = None,
) -> dict[str, StepStatus]:
    """The plan's status after a superstep: finished, skipped and newly started steps."""
    new = dict(status)
    by_id = {s["id"]: s for s in steps}
    for s in steps:
        if new[s["id"]]["state"] != "running":
            continue
        result = step_result(s, results, step_results)
        failure = next((f for f in failures if _failure_of(f, s)), None)
        if failure is not None:
            reason = f"{failure['error_type']}: {failure['message']}"
            new[s["id"]] = StepStatus(state="failed", reason=reason)
        elif result is not None and result["status"] == "ok":
            new[s["id"]] = StepStatus(state="ok", reason="")
        else:
            new[s["id"]] = StepStatus(state="failed", reason="the agent produced no result")
    changed = True
    while changed:  # skipping one step may skip the steps that wait for it
        changed = False
        for s in steps:
            if new[s["id"]]["state"] != "pending":
                continue
            for dep in s["depends_on"]:
                up = new[dep]
                if up["state"] in ("failed", "skipped"):
                    agent = by_id[dep]["agent"]
                    why = (
                        f"{agent} failed: {up['reason']}"
                        if up["state"] == "failed"
                        else f"{agent} was not run"
                    )
                    new[s["id"]] = StepStatus(state="skipped", reason=f"not run: {why}")
                    changed = True
                    break
    for s in steps:
        if new[s["id"]]["state"] == "pending" and all(
            new[d]["state"] == "ok" for d in s["depends_on"]
        ):
            new[s["id"]] = StepStatus(state="running", reason="")
    return new


def step_result(
    step: PlanStep,
    results: dict[str, AgentResult],
    step_results: dict[str, AgentResult] | None = None,
) -> AgentResult | None:
    """The result of one plan step: by its id when its agent runs several steps, else by agent."""
    if step_results and step["id"] in step_results:
        return step_results[step["id"]]
    result = results.get(step["agent"])
    if result is None or result.get("step", step["id"]) != step["id"]:
        return None
    return result


def _failure_of(failure: Failure, step: PlanStep) -> bool:
    """Whether ``failure`` is this step's (by step id when recorded, else by agent)."""
    if "step" in failure:
        return failure["step"] == step["id"]
    return failure["agent"] == step["agent"]


def next_steps(state: NovaState) -> dict[str, Any]:
    """Node after every superstep of agents: update the plan's status."""
    steps = state.get("plan") or []
    if not steps:
        return {}
    status = advance(
        steps,
        state.get("plan_status") or initial_status(steps),
        state.get("results") or {},
        state.get("failures") or [],
        state.get("step_results"),
    )
    return {"plan_status": status}


def step_input(step: PlanStep, result: AgentResult) -> StepInput:
    """What a dependent step receives from one upstream step: its answer and tool outputs."""
    answer = result["answer"].replace(OFFLINE_NOTICE, "").strip()
    return StepInput(
        step=step["id"],
        agent=step["agent"],
        request=step["request"],
        answer=answer[:MAX_INPUT_CHARS],
        tool_outputs=[
            {"tool": t["name"], "output": t["output"][:MAX_INPUT_CHARS]}
            for t in result["tool_calls"]
            if t["ok"]
        ],
    )


def running_sends(
    state: NovaState, history: list[dict[str, str]], memories: dict[str, list[MemoryRef]]
) -> list[Send]:
    """A ``Send`` for each step the plan starts now, with its upstream results as inputs."""
    steps = state.get("plan") or []
    status = state.get("plan_status") or initial_status(steps)
    results, step_results = state.get("results") or {}, state.get("step_results")
    by_id = {s["id"]: s for s in steps}
    running = [s for s in steps if status[s["id"]]["state"] == "running"]
    sends = []
    for s in running:
        task = _step_task(s, steps, history, memories)
        if "turn" in state:
            task["turn"] = state["turn"]  # request budgets span every step
        if s["depends_on"]:
            ups = [by_id[d] for d in s["depends_on"]]
            task["inputs"] = [
                step_input(u, _done(step_result(u, results, step_results))) for u in ups
            ]
        after = _after(s, status, steps, memories) if len(running) == 1 else None
        if after is not None:
            task["after"] = after
        sends.append(Send(s["agent"], task))
    return sends


def _done(result: AgentResult | None) -> AgentResult:
    """An upstream step's result (a step starts only after its inputs are ``ok``)."""
    if result is None:
        raise RuntimeError("a plan step started before the result of a step it waits for")
    return result


def _step_task(
    step: PlanStep,
    steps: list[PlanStep],
    history: list[dict[str, str]],
    memories: dict[str, list[MemoryRef]],
) -> AgentTask:
    """The task one plan step's agent receives (inputs, turn and what follows are added)."""
    task = AgentTask(
        agent=step["agent"],
        request=step["request"],
        history=history,
        memories=memories.get(step["agent"], []),
        step=step["id"],
    )
    if any(s["agent"] == step["agent"] and s["id"] != step["id"] for s in steps):
        task["repeat"] = True
    return task


def _after(
    step: PlanStep,
    status: dict[str, StepStatus],
    steps: list[PlanStep],
    memories: dict[str, list[MemoryRef]],
) -> StepAfter | None:
    """What follows ``step`` (running alone) when it succeeds, if only ``step`` decides it.

    ``None`` (go through ``next_steps``) when a step it would start also waits for another step.
    The tasks it holds leave out the history (every plan step shares one): ``after_step`` adds
    the finished step's, so a checkpoint of a k-step chain does not hold the history k times.
    """
    done = {**status, step["id"]: StepStatus(state="ok", reason="")}
    pending = [s for s in steps if done[s["id"]]["state"] == "pending"]
    ready = [s for s in pending if all(done[d]["state"] == "ok" for d in s["depends_on"])]
    if any(s["depends_on"] != [step["id"]] for s in ready) or (pending and not ready):
        return None
    new = {**done, **{s["id"]: StepStatus(state="running", reason="") for s in ready}}
    then = []
    for s in ready:
        task = _step_task(s, steps, [], memories)
        nxt = _after(s, new, steps, memories) if len(ready) == 1 else None
        if nxt is not None:
            task["after"] = nxt
        then.append(task)
    return StepAfter(status=new, then=then)


def after_step(task: AgentTask, update: dict[str, Any]) -> Command[Any]:
    """Where an agent node goes when it returns: its fast-path continuation, else ``next_steps``.

    With ``task["after"]`` the step's dependents start now, given its result, and the plan's
    status is recorded; with nothing left to start the run goes straight to compose.
    """
    after = task.get("after")
    if after is None or update.get("failures"):  # a failed part goes through next_steps
        return Command(update=update, goto=NEXT_STEPS_NODE)
    up = PlanStep(id=task["step"], agent=task["agent"], request=task["request"], depends_on=[])
    given = [step_input(up, update["results"][task["agent"]])]
    carried: dict[str, Any] = {"history": task.get("history", [])}  # shared by every step
    if "turn" in task:
        carried["turn"] = task["turn"]  # request budgets span steps
    sends = [Send(t["agent"], {**t, **carried, "inputs": given}) for t in after["then"]]
    return Command(update={**update, "plan_status": after["status"]}, goto=sends or COMPOSE_NODE)


def plan_report(state: NovaState) -> list[str]:
    """Lines for the answer: what a multi-step plan ran, what failed and what it skipped."""
    steps = state.get("plan") or []
    status = state.get("plan_status") or {}
    if len(steps) < 2 or not any(s["depends_on"] for s in steps):
        return []
    lines = []
    for s in steps:
        st = status.get(s["id"], StepStatus(state="pending", reason=""))
        after = f" after {', '.join(s['depends_on'])}" if s["depends_on"] else ""
        note = f": {st['reason']}" if st["reason"] else ""
        lines.append(f"- {s['id']} {s['agent']}{after}: {_WORDS[st['state']]}{note}")
    return lines


_WORDS = {
    "ok": "ran",
    "failed": "failed",
    "skipped": "skipped",
    "pending": "not started",
    "running": "did not finish",
}


def describe_plan(steps: list[PlanStep], status: dict[str, StepStatus]) -> str:
    """One line: each step with its agent, dependencies and state (for streaming)."""
    parts = []
    for s in steps:
        after = f"<-{'+'.join(s['depends_on'])}" if s["depends_on"] else ""
        st = status.get(s["id"])
        parts.append(f"{s['id']} {s['agent']}{after} [{st['state'] if st else '?'}]")
    return "; ".join(parts)


def describe_status(status: dict[str, StepStatus]) -> str:
    """Which steps just started, ended or were skipped (for streaming the ``next_steps`` node)."""
    shown = [
        f"{sid} {st['state']}" + (f" ({st['reason']})" if st["reason"] else "")
        for sid, st in status.items()
        if st["state"] != "pending"
    ]
    return "; ".join(shown) or "waiting"
