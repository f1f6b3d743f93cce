"""Per-request orchestration of Nova against langgraph-supervisor, same 34 agents, in one run.

Both systems run the packaged roster's 34 agents with the same tools and the same *instant* fake
chat model (``FunctionChatModel``), so what is timed is orchestration, not a model:

- **nova**: ``nova_app.build_nova_graph`` (default ``SemanticRouter``, no checkpointer): the
  supervisor node routes with embeddings (no model call), the routed agent calls one of its
  tools, answers, and compose writes the reply.
- **peer**: ``langgraph_supervisor.create_supervisor`` over ``create_react_agent`` agents with the
  same tools: the supervisor "model" hands off to the agent Nova routed to (an instant table
  look-up, so the peer pays nothing for routing), the agent calls the same tool and answers, the
  supervisor answers.

``nova_seen`` is Nova on a request whose embedding is already in the encoder's cache (the same
text asked before), i.e. Nova's orchestration without the embedding model's inference, which
the peer does not have (its routing "model" is instant).

Each fake agent model calls the first of its tools that needs no arguments (or answers at once),
so both systems do the same tool work (the warm-up checks that each request makes the same agent
tool calls in both; before 2026-11-30 the peer's agents took the supervisor's hand-off message
for their own tool's result and answered without calling a tool, so only Nova did tool work).
The two are timed interleaved, request by request, and the report gives medians and their ratio
(nova / peer).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/orchestration_peer.py [--rounds 15]``; JSON lands in
``benchmarks/results/orchestration_peer.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from nova_app import build_nova_graph, nova_roster
from nova_app.tools import nova_tools
from nova_graph.embeddings import default_encoder
from nova_graph.roster import Roster
from nova_graph.routing.default import default_router
from nova_graph.testing import FunctionChatModel
from nova_graph.tools import ToolContext, resolve_tools

REQUESTS = [
    "what time is it right now",
    "how many words are in this: the quick brown fox",
    "what's our stock of brush heads",
    "did last night's pipeline succeed",
    "show the monthly sales report",
    "list the shipments awaiting dispatch",
    "show the receivables ageing",
    "help me plan my week",
]


def _no_arg_tool(tools: list[dict[str, Any]]) -> str | None:
    for t in tools:
        if not t.get("parameters", {}).get("required") and not t["name"].startswith("transfer"):
            return str(t["name"])
    return None


def make_model(gold: dict[str, str], called: list[str] | None = None) -> FunctionChatModel:
    """The instant fake model: hand-offs by table, one argument-free tool call, then answer.

    Each agent tool call it makes is appended to ``called`` (when given), so a run can check
    that both systems did the same tool work.
    """

    def reply(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage | str:
        names = [t["name"] for t in tools]
        user = next(m for m in reversed(messages) if isinstance(m, HumanMessage))
        after_user = messages[messages.index(user) + 1 :]
        if any(n.startswith("transfer_to_") for n in names):  # the peer's supervisor
            if after_user:
                return "done"
            target = f"transfer_to_{gold[str(user.content)]}"
            return AIMessage("", tool_calls=[{"name": target, "args": {}, "id": "h1"}])
        tool = _no_arg_tool(tools)
        # the peer's agent also sees the supervisor's hand-off (a ToolMessage named
        # transfer_to_...): only its own tool's result means its tool work is done
        if tool is None or any(
            isinstance(m, ToolMessage) and not str(m.name or "").startswith("transfer_")
            for m in after_user
        ):
            return "done"
        if called is not None:
            called.append(tool)
        return AIMessage("", tool_calls=[{"name": tool, "args": {}, "id": "t1"}])

    return FunctionChatModel(fn=reply)


def peer_graph(roster: Roster, model: FunctionChatModel, ctx: ToolContext) -> Any:
    """``create_supervisor`` over one ``create_react_agent`` per roster agent, same tools."""
    from langgraph_supervisor import create_supervisor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

        registry = {t.name: t for t in nova_tools(ctx)}
        agents: list[Any] = [
            create_react_agent(
                model,
                resolve_tools(spec.name, spec.tools, registry),
                prompt=spec.system_prompt,
                name=spec.name,
            )
            for spec in roster
        ]
        return create_supervisor(agents, model=model, prompt="Route to one agent.").compile()


def main() -> int:
    """Run both systems interleaved and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", default="benchmarks/results/orchestration_peer.json")
    args = parser.parse_args()
    roster = nova_roster()
    router = default_router(roster)
    gold = {t: router.route(t).agents[0] for t in REQUESTS}
    called: list[str] = []
    model = make_model(gold, called)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = ToolContext(model=model)
        ctx.data_dir = Path(tmp)
        nova = build_nova_graph(
            roster=roster, router=router, model=model, data_dir=tmp, checkpointer=False
        )
        peer = peer_graph(roster, model, ctx)
        runs: dict[str, list[float]] = {"nova": [], "nova_seen": [], "peer": []}

        def once(label: str, text: str) -> float:
            graph = peer if label == "peer" else nova
            if label == "nova":
                default_encoder().clear_cache()  # a new request encodes afresh
            started = time.perf_counter()
            state = graph.invoke({"messages": [HumanMessage(text)]})
            ms = (time.perf_counter() - started) * 1000
            assert state["messages"][-1].content, f"{label} gave no answer to {text!r}"
            return ms

        for text in REQUESTS:  # warm-up: encoder, demo databases, imports
            tool_work = {}
            for label in ("nova", "peer"):
                called.clear()
                once(label, text)
                tool_work[label] = list(called)
            assert tool_work["nova"] == tool_work["peer"], (
                f"unequal tool work on {text!r}: {tool_work}"
            )
        for r in range(args.rounds):
            order = ("nova", "nova_seen", "peer") if r % 2 == 0 else ("peer", "nova", "nova_seen")
            for text in REQUESTS:
                for label in order:
                    runs[label].append(once(label, text))
    med = {k: statistics.median(v) for k, v in runs.items()}
    report = {
        "agents": len(roster),
        "requests": len(REQUESTS),
        "rounds": args.rounds,
        "nova_p50_ms": med["nova"],
        "peer_create_supervisor_p50_ms": med["peer"],
        "ratio_p50_nova_over_peer": med["nova"] / med["peer"],
        "nova_seen_request_p50_ms": med["nova_seen"],
        "ratio_p50_nova_seen_over_peer": med["nova_seen"] / med["peer"],
        "note": "instant FunctionChatModel; interleaved; no checkpointer; medians over all runs",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
