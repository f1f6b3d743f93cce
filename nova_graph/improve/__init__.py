"""The self-improvement loop: evidence from the run log, proposals, held-out acceptance,
versioning and rollback of the routing setup (roster examples/descriptions + router settings)."""

from nova_graph.improve.labelled import LabelledRequest, load_labelled, stratified_split
from nova_graph.improve.loop import AcceptancePolicy, ImprovementLoop, RoundReport, Verdict, judge
from nova_graph.improve.metrics import RoutingScore, score_router, top_agent
from nova_graph.improve.proposals import (
    Evidence,
    Proposal,
    apply_proposal,
    evidence_from_runs,
)
from nova_graph.improve.setup import RouterFactory, RoutingSetup, weakened
from nova_graph.improve.simulate import simulate_usage
from nova_graph.improve.store import VersionMeta, VersionStore, active_roster

__all__ = [
    "AcceptancePolicy",
    "Evidence",
    "ImprovementLoop",
    "LabelledRequest",
    "Proposal",
    "RoundReport",
    "RouterFactory",
    "RoutingScore",
    "RoutingSetup",
    "Verdict",
    "VersionMeta",
    "VersionStore",
    "active_roster",
    "apply_proposal",
    "evidence_from_runs",
    "judge",
    "load_labelled",
    "score_router",
    "simulate_usage",
    "stratified_split",
    "top_agent",
    "weakened",
]
