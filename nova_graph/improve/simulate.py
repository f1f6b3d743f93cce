"""Simulated usage: route labelled requests, log the runs, and give the feedback a user would."""

from __future__ import annotations

from collections.abc import Sequence

from nova_graph.improve.labelled import LabelledRequest
from nova_graph.improve.metrics import top_agent
from nova_graph.routing.decision import Router, route_all
from nova_graph.runlog import RunLog


def simulate_usage(router: Router, items: Sequence[LabelledRequest], runlog: RunLog) -> list[str]:
    """Route each request (routing only, no agents run), record it and rate it.

    Feedback is ``good`` when the top route is the label, else ``bad`` with ``--should-be``
    the label (plain ``bad`` for out-of-scope requests that were routed). Returns the run ids.
    """
    decisions = route_all(router, [i.text for i in items])
    run_ids: list[str] = []
    for item, decision in zip(items, decisions, strict=True):
        top = top_agent(decision)
        state = {
            "request": item.text,
            "decision": decision.model_dump(),
            "routes": [top] if top else [],
        }
        run_id = runlog.record(state, 0.0, thread_id=f"simulated-{len(run_ids)}")
        if top == item.label:
            runlog.add_feedback(run_id, "good")
        else:
            runlog.add_feedback(run_id, "bad", should_be=item.label, comment="simulated")
        run_ids.append(run_id)
    return run_ids
