"""The conversation eval's paired timing: calls replayed interleaved, failures left out."""

from __future__ import annotations

from evals.harness.conversation import Call, Decide, paired_times
from nova_graph.errors import InvalidRequestError
from nova_graph.routing.decision import RouteDecision


def test_paired_times_interleaves_systems_and_skips_rejected_calls() -> None:
    order: list[str] = []
    colds: list[int] = []

    def system(name: str) -> Decide:
        def decide(text: str, prev: object) -> RouteDecision:
            order.append(f"{name}:{text}")
            if text == "huge":
                raise InvalidRequestError("too long")
            return RouteDecision(agents=["a"])

        return decide

    decides = {"one": system("one"), "two": system("two")}
    calls: dict[str, list[Call]] = {
        "one": [("t0", None), ("t1", None), ("huge", None)],
        "two": [("t0", None), ("t1", None)],
    }
    out = paired_times(decides, calls, cold=lambda: colds.append(1))
    # call i of each system in turn, the order alternating; a system with fewer calls is skipped
    assert order == ["one:t0", "two:t0", "two:t1", "one:t1", "one:huge"]
    assert len(colds) == len(order)  # every replayed decision starts from a cold cache
    assert set(out) == {"one", "two"}
    for timing in out.values():
        assert set(timing) == {"decision_p50_ms", "decision_p95_ms"}
        assert 0 <= timing["decision_p50_ms"] <= timing["decision_p95_ms"]
