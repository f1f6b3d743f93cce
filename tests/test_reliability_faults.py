"""Fault injection: with 20 % of model calls raising or hanging, no request is silently degraded."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage

from tests.fault_injection import check_outcome, run_faults

FAULT_REQUESTS = 100  # the 1,000-request target runs in benchmarks/faults.py


def test_every_request_ends_with_an_answer_or_explicit_failure_under_20_percent_faults(
    tmp_path: Path,
) -> None:
    report = run_faults(FAULT_REQUESTS, seed=20240601, data_dir=tmp_path)
    assert report.exceptions == []
    assert report.violations == []
    assert report.answered_fully + report.answered_with_explicit_failures == FAULT_REQUESTS
    assert report.injected["transient"] and report.injected["permanent"] and report.injected["hang"]
    assert report.answered_with_explicit_failures > 0  # the faults really reached the answers


def test_outcome_check_flags_a_routed_agent_with_no_result() -> None:
    state = {
        "routes": ["clock", "words"],
        "results": {
            "clock": {"agent": "clock", "status": "ok", "answer": "noon"},
        },
        "failures": [],
        "messages": [HumanMessage("q"), AIMessage("noon")],
    }
    assert check_outcome(state) == ["words: missing part"]


def test_outcome_check_flags_a_failure_left_out_of_the_answer() -> None:
    state = {
        "routes": ["clock"],
        "results": {"clock": {"agent": "clock", "status": "failed", "answer": ""}},
        "failures": [{"agent": "clock", "error_type": "X", "message": "m", "attempts": 1}],
        "messages": [HumanMessage("q"), AIMessage("all good")],
    }
    assert check_outcome(state) == ["clock: failure not reported in the answer"]
