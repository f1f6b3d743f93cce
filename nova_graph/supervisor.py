"""The supervisor node: validate the request, recall context, route, ask when unsure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import Overwrite, Send, interrupt

from nova_graph.conversation import (
    CarriedContext,
    ConversationRouter,
    agent_context,
    previous_turn,
)
from nova_graph.errors import PlanError
from nova_graph.input_checks import DEFAULT_MAX_REQUEST_BYTES, message_text, validate_request
from nova_graph.plan_dispatch import initial_status, running_sends
from nova_graph.planning import (
    Plan,
    PlanPolicy,
    has_reference,
    plan_request,
    split_dependent,
    split_repeated,
)
from nova_graph.roster import ContextPolicy, Roster
from nova_graph.routing.decision import RouteDecision, Router
from nova_graph.state import AgentTask, DecisionRecord, Failure, MemoryRef, NovaState, new_turn

if TYPE_CHECKING:
    from nova_graph.memory.protocol import MemoryStore

OutOfScopePolicy = Literal["refuse", "general"]
REFUSE_NODE = "out_of_scope"
#: How many times a clarifying question is asked again when the answer matches no option.
CLARIFY_ATTEMPTS = 3
#: Route scores kept in state per decision: the best few (and every routed agent's), not all.
STATE_SCORES = 5


class Supervisor:
    """Routes each request to one or several agents, a clarifying question, or a refusal."""

    def __init__(
        self,
        roster: Roster,
        router: Router,
        *,
        memory: MemoryStore | None = None,
        out_of_scope: OutOfScopePolicy = "refuse",
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        memory_k: int = 5,
        memory_namespace: str = "default",
        planning: PlanPolicy | None = None,
        plan_model: Any = None,
    ) -> None:
        self.roster = roster
        self.planning = planning if planning is not None else PlanPolicy()
        self.plan_model = plan_model  # a configured model, asked only when a plan is unsure
        self.router = router
        self.memory = memory
        self.out_of_scope = out_of_scope
        self.max_request_bytes = max_request_bytes
        self.memory_k = memory_k
        self.memory_namespace = memory_namespace
        self.conversation = ConversationRouter(router, roster)

    # -- node ---------------------------------------------------------------------------------
    def __call__(self, state: NovaState, config: RunnableConfig) -> dict[str, Any]:
        """Supervisor node: decide the routes for the latest user message."""
        messages = state.get("messages") or []
        if not messages:
            validate_request(None)
        text = validate_request(message_text(messages[-1]), max_bytes=self.max_request_bytes)
        turn = self.conversation.decide(text, previous_turn(messages, dict(state)))
        decision, notice = turn.decision, turn.notice
        if (
            self.planning.enabled
            and turn.context is None
            and len(decision.clauses) <= 1
            and has_reference(text)
        ):
            decision = split_dependent(text, self.router, self.conversation.verbs) or decision
        if self.planning.enabled and turn.context is None and len(decision.clauses) == 1:
            decision = split_repeated(text, decision, self.router) or decision
        clarification: dict[str, Any] | None = None
        if decision.ambiguous and len(decision.agents) > 1:
            decision, clarification, notice = self._ask(decision)
        routes = [a for a in decision.agents if a in self.roster]
        if not routes and self.out_of_scope == "general" and notice is None:
            general = self.roster.by_family("general")
            routes = [general[0].name] if general else []
        failures = _routing_failures(decision)
        try:
            plan = plan_request(text, decision, routes, self.planning, model=self.plan_model)
        except PlanError as exc:  # no sensible plan: say so and run nothing
            plan, routes = Plan([]), []
            notice = f"I did not run this request: {exc}."
            failures = Overwrite(
                [Failure(agent="planner", error_type="PlanError", message=str(exc), attempts=0)]
            )
        return {
            "request": text,
            "decision": state_decision(decision, routes),
            "routes": routes,
            "clarification": clarification,
            "carried": turn.context.model_dump() if turn.context else None,
            "notice": notice,
            "memories": self._recall(text, decision, routes, config),
            "results": None,  # reducer: start this turn with no results
            "step_results": None,
            "failures": failures,
            "routing_model_calls": decision.model_calls,
            "turn": new_turn(),
            "plan": plan.steps,
            "plan_status": initial_status(plan.steps),
            "plan_model_calls": plan.model_calls,
        }

    def _ask(self, decision: RouteDecision) -> tuple[RouteDecision, dict[str, Any], str | None]:
        """Ask which candidate was meant, again (saying why) while the answer matches none."""
        question = self.clarifying_question(decision)
        asked = question
        answers: list[Any] = []
        for _ in range(CLARIFY_ATTEMPTS):
            answer = interrupt(asked)
            answers.append(answer)
            resolved = self._resolve(decision, answer)
            if resolved.agents:
                chosen = resolved.agents
                return resolved, {**question, "answer": answer, "chosen": chosen}, None
            asked = {
                **question,
                "question": f"{str(answer)[:80]!r} matches none of the options. "
                + question["question"],
            }
        notice = (
            f"None of the answers ({', '.join(repr(str(a)[:40]) for a in answers)}) matched an "
            "option, so nothing was run. Ask again and name what you want, e.g. "
            f"{self.roster[decision.agents[0]].description.rstrip('.').lower()}."
        )
        empty = decision.model_copy(update={"agents": [], "ambiguous": False})
        return empty, {**question, "answer": answers[-1], "chosen": []}, notice

    # -- conditional edge ---------------------------------------------------------------------
    def dispatch(self, state: NovaState) -> list[Send] | str:
        """Fan out to every routed agent through ``Send``, or to the refusal node."""
        routes = state.get("routes") or []
        if not routes:
            return REFUSE_NODE
        if state.get("plan"):
            return self.plan_sends(state)
        decision = state.get("decision")
        clause_for = {
            c["agent"]: c["text"]
            for c in (decision.get("clauses", []) if decision else [])
            if c["agent"]
        }
        messages = state.get("messages") or []
        carried = state.get("carried")
        context = CarriedContext.model_validate(carried) if carried else None
        memories = state.get("memories") or {}
        sends = []
        for name in routes:
            policy = self.roster[name].context
            history, note = agent_context(messages, policy, context)
            task = AgentTask(
                agent=name,
                request=clause_for.get(name, state["request"])
                if len(routes) > 1
                else state["request"],
                history=history,
                memories=memories.get(name, [])[: policy.memories],
                **({"turn": state["turn"]} if "turn" in state else {}),  # type: ignore[typeddict-item]
            )
            if note:
                task["context"] = note
            sends.append(Send(name, task))
        return sends

    def plan_sends(self, state: NovaState) -> list[Send]:
        """A ``Send`` for each plan step starting now, given its upstream steps' results."""
        # plan steps share one history: what the default context policy shows
        history, _ = agent_context(state.get("messages") or [], ContextPolicy(), None)
        return running_sends(state, history, state.get("memories") or {})

    def refuse(self, state: NovaState) -> dict[str, Any]:
        """Out-of-scope node: say honestly that no agent covers the request."""
        notice = state.get("notice")
        if notice:
            return {"messages": [AIMessage(notice, name="nova")]}
        families = self.roster.families
        text = (
            "Sorry, that is outside what my agents cover, so I won't guess. "
            f"I can help with: {', '.join(families)} tasks "
            f"({len(self.roster)} agents; e.g. {', '.join(self.roster.names[:4])})."
        )
        for f in state.get("failures") or []:
            text += f"\n\n(The {f['agent']} could not help: {f['error_type']}: {f['message']})"
        return {"messages": [AIMessage(text, name="nova")]}

    # -- helpers ------------------------------------------------------------------------------
    def clarifying_question(self, decision: RouteDecision) -> dict[str, Any]:
        """The interrupt payload asking the user which candidate agent they meant."""
        options = [
            {"agent": a, "description": self.roster[a].description}
            for a in decision.agents
            if a in self.roster
        ]
        listed = "; or ".join(
            f"({i}) {o['description'].rstrip('.')}" for i, o in enumerate(options, start=1)
        )
        return {
            "type": "clarification",
            "question": f"Did you mean {listed}? Reply with the number or the agent name.",
            "options": options,
        }

    def _resolve(self, decision: RouteDecision, answer: Any) -> RouteDecision:
        """Apply the user's answer to a clarifying question."""
        options = list(decision.agents)
        chosen: list[str] = []
        if isinstance(answer, dict):
            answer = answer.get("agent", answer.get("answer"))
        if isinstance(answer, int) and 1 <= answer <= len(options):
            chosen = [options[answer - 1]]
        elif isinstance(answer, str):
            key = answer.strip().lower()
            if key.isdigit() and 1 <= int(key) <= len(options):
                chosen = [options[int(key) - 1]]
            elif key in self.roster:
                chosen = [key]
            elif key:
                follow = self.router.route(key)
                chosen = [a for a in follow.agents if a in options][:1]
        elif isinstance(answer, list):
            chosen = [a for a in answer if isinstance(a, str) and a in self.roster]
        chosen = [a for a in chosen if a in options or a in self.roster]
        return decision.model_copy(
            update={"agents": chosen, "ambiguous": False, "out_of_scope": not chosen}
        )

    def _recall(
        self, text: str, decision: RouteDecision, routes: list[str], config: RunnableConfig
    ) -> dict[str, list[MemoryRef]]:
        """Current memories relevant to each routed agent (stale ones never leave the store)."""
        if self.memory is None or not routes:
            return {}
        from nova_graph.memory import recall_for_agents, run_namespace

        namespace = run_namespace(config, self.memory_namespace)
        now = datetime.now(UTC)
        clauses = decision.clause_texts()
        found = recall_for_agents(
            self.memory,
            text,
            [self.roster[a] for a in routes],
            namespace=namespace,
            now=now,
            clauses=clauses,
            k=self.memory_k,
        )
        return {
            agent: [
                MemoryRef(id=m.id, text=m.text, age_seconds=(now - m.created_at).total_seconds())
                for m in mems
            ]
            for agent, mems in found.items()
        }


def state_decision(decision: RouteDecision, routes: list[str]) -> DecisionRecord:
    """The decision as kept in state: every field, but only the top ``STATE_SCORES`` scores
    (plus the routed agents'), so a checkpoint does not grow with the roster."""
    top = sorted(decision.scores, key=decision.scores.__getitem__, reverse=True)[:STATE_SCORES]
    kept = {a: decision.scores[a] for a in [*top, *routes] if a in decision.scores}
    return cast(DecisionRecord, {**decision.model_dump(exclude={"scores"}), "scores": kept})


def _routing_failures(decision: RouteDecision) -> Overwrite | None:
    """Start the turn's failures: empty, or the router's failed model fallback (reported)."""
    if decision.model_error is None:
        return None  # reducer: start this turn with no failures
    failure = Failure(
        agent="router",
        error_type="RoutingModelError",
        message=decision.model_error,
        attempts=decision.model_calls,
    )
    return Overwrite([failure])
