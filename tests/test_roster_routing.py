"""The default roster router: calibrated from package data only, routes clear requests, refuses
clear out-of-scope ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nova_app import nova_roster
from nova_graph.roster import Roster
from nova_graph.routing.decision import Router
from nova_graph.routing.default import default_router

ROOT = Path(__file__).resolve().parents[1]

# Builds the default router in a fresh process that records every file it opens, so the test can
# show calibration reads package data only (never the held-out set under evals/).
_BUILD = """
import json, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
from nova_graph.routing.default import default_router
from nova_app import nova_roster
router = default_router(nova_roster(), cache_dir=sys.argv[1])
print(json.dumps({"opened": opened, "report": router.calibration_report}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Build (and cache) the default router in a subprocess run from the repository root."""
    cache = tmp_path_factory.mktemp("router-cache")
    proc = subprocess.run(
        [sys.executable, "-c", _BUILD, str(cache)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["cache"] = str(cache)
    return result


@pytest.fixture(scope="module")
def roster() -> Roster:
    """The packaged roster."""
    return nova_roster()


@pytest.fixture(scope="module")
def router(built: dict[str, object], roster: Roster) -> Router:
    """The default router, loaded from the cache the subprocess wrote."""
    return default_router(roster, cache_dir=str(built["cache"]))


def test_calibration_never_opens_the_heldout_set(built: dict[str, object]) -> None:
    opened = [str(p) for p in built["opened"]]  # type: ignore[attr-defined]
    assert any(p.endswith("nova_app/data/roster.yaml") for p in opened)
    assert not [p for p in opened if "heldout" in p or "/evals/" in p]


def test_calibration_reports_in_scope_accuracy_and_out_of_scope_recall(
    built: dict[str, object],
) -> None:
    report = built["report"]
    assert isinstance(report, dict)
    assert report["in_scope_accuracy"] > 0.8
    assert report["out_of_scope_recall"] > 0.5


def test_novas_out_of_scope_set_is_large_and_distinct() -> None:
    requests = nova_roster().out_of_scope
    assert len(requests) >= 150
    assert len(set(requests)) == len(requests)


@pytest.mark.parametrize(
    ("text", "agent"),
    [
        ("hello nova, good to see you", "general_chat"),
        ("remind me to renew the van insurance on Friday", "reminders"),
        ("show me the logs for run 14", "pipeline_logs"),
        ("back up the ERP database right now", "backup_manager"),
        ("how many vacuum motors are on hand", "erp_inventory"),
        ("track the parcel for order 311", "erp_shipping"),
        ('translate "thank you for your order" into French', "translator"),
        ("proofread this: the parts will arive on tuesday", "proofreader"),
    ],
)
def test_clear_requests_reach_their_agent(router: Router, text: str, agent: str) -> None:
    decision = router.route(text)
    assert decision.agents == [agent]
    assert not decision.out_of_scope


@pytest.mark.parametrize(
    "text",
    [
        "what's the weather forecast for Glasgow on Sunday",
        "who won the Champions League final",
        "how do I make lasagne",
        "what's a good treatment for a sprained ankle",
        "recommend a novel for a long flight",
    ],
)
def test_clear_out_of_scope_requests_are_refused(router: Router, text: str) -> None:
    decision = router.route(text)
    assert decision.out_of_scope
    assert decision.agents == []


def test_a_request_naming_two_families_fans_out(router: Router) -> None:
    decision = router.route(
        'how many vacuum motors are on hand, and also translate "thank you" into German'
    )
    assert set(decision.agents) == {"erp_inventory", "translator"}


def test_a_bullet_list_after_a_colon_stays_with_its_request(router: Router) -> None:
    decision = router.route("turn these requirements into tasks: - add login page - fix export")
    assert decision.agents == ["task_extractor"]
