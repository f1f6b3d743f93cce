"""Routing a turn with its conversation: follow-up or new topic, ask back or not, every part
of a request routed or named as unhandled, the instruction routed and its payload kept whole.

``ConversationRouter.decide(text, previous)`` wraps any router (``route(text)`` /
``route_batch``). Its two decisions (follow-up, clarification) are calibrated logistic rules
fitted on the dev conversations (``nova eval conversation --fit``) and packaged in
``nova_graph/data/conversation_model.json``; a configured model arbitrates only when the
follow-up rule is unsure, and each call is counted in the decision's ``model_calls``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, Field

from nova_graph.errors import RoutingError
from nova_graph.input_checks import message_text
from nova_graph.planning import has_reference
from nova_graph.roster import ContextPolicy, Roster
from nova_graph.routing import clarify, followup
from nova_graph.routing.cues import (
    confirms,
    corrects,
    has_anaphor,
    is_followup_cue,
    is_social,
    referents,
    starter_words,
    words,
)
from nova_graph.routing.decision import ClauseRoute, RouteDecision, Router
from nova_graph.routing.logistic import LogisticRule
from nova_graph.routing.parts import Part, find_parts
from nova_graph.routing.payload import InstructionVerbs

MODEL_FILE = "conversation_model.json"
TurnKind = Literal["new", "followup", "no_context"]
#: An out-of-scope request this short, opening with no action word, is a fragment to ask about.
FRAGMENT_WORDS = 4
_ACTION = clarify.FEATURES.index("opens_with_action")
#: Decisions taken as they are, never asked back: the model fallback's, an instruction's, and
#: an example overlay's (users' own answer for requests like this one).
SETTLED_METHODS = ("model", "instruction", "overlay")


class PreviousTurn(BaseModel):
    """What the previous turn of the thread was: its request, agents and answer."""

    request: str
    agents: list[str] = Field(default_factory=list)
    answer: str = ""


class CarriedContext(BaseModel):
    """What a follow-up carries from the previous turn into the agent's task."""

    previous_request: str
    referents: list[str] = Field(default_factory=list)
    previous_answer: str = ""


class TurnDecision(BaseModel):
    """The conversation-aware decision for one turn."""

    decision: RouteDecision
    kind: TurnKind = "new"
    followup_probability: float | None = None
    clarify_probability: float | None = None
    context: CarriedContext | None = None
    notice: str | None = None

    @property
    def unhandled(self) -> list[str]:
        """Parts of the request no agent takes (refused explicitly in the answer)."""
        return [c.text for c in self.decision.clauses if c.agent is None] if self.parted else []

    @property
    def parted(self) -> bool:
        """Whether the request was cut into several parts."""
        return len(self.decision.clauses) > 1


class ConversationModel(BaseModel):
    """The two calibrated rules: does a turn follow up, should a request be asked back."""

    followup: LogisticRule
    clarify: LogisticRule

    @classmethod
    def untrained(cls) -> ConversationModel:
        """Rules with zero weights (every probability 0.5): a starting point for fitting."""
        return cls(
            followup=LogisticRule(
                features=list(followup.FEATURES), weights=[0.0] * len(followup.FEATURES)
            ),
            clarify=LogisticRule(
                features=list(clarify.FEATURES),
                weights=[0.0] * len(clarify.FEATURES),
                threshold=1.0,
            ),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> ConversationModel:
        """Read the rules from ``path`` (default: the packaged ones)."""
        try:
            if path is None:
                text = resources.files("nova_graph.data").joinpath(MODEL_FILE).read_text("utf-8")
            else:
                text = Path(path).read_text("utf-8")
            return cls.model_validate(json.loads(text))
        except (OSError, ValueError) as exc:
            raise RoutingError(
                f"cannot read the conversation model ({exc}); refit it with "
                "`nova eval conversation --fit`"
            ) from None


class ConversationRouter:
    """Routes a turn using the previous one (see the module docstring)."""

    def __init__(self, router: Router, roster: Roster, model: ConversationModel | None = None):
        self.router = router
        self.roster = roster
        self.model = model if model is not None else ConversationModel.load()
        self.starters = starter_words(roster.examples())
        self.families = {a.name: a.family for a in roster}
        self.support = clarify.WordSupport(roster.examples())
        self.neighbours = clarify.agent_neighbours(router)
        self.verbs = InstructionVerbs(roster.examples())
        self.arbiter = getattr(router, "arbiter", None)
        #: Only a scoring router (one with ``route_batch``, scores for every agent) is
        #: second-guessed; any other router (a table, rules) is taken as it is, whole.
        self.active = callable(getattr(router, "route_batch", None))

    # -- parts ---------------------------------------------------------------------------------
    def parts(self, text: str) -> list[Part]:
        """The parts of ``text`` (see :func:`~nova_graph.routing.parts.find_parts`)."""
        return find_parts(text, self.starters)

    def _route_many(self, texts: Sequence[str]) -> list[RouteDecision]:
        return list(self.router.route_batch(list(texts)))  # type: ignore[attr-defined]

    # -- the decision ---------------------------------------------------------------------------
    def decide(self, text: str, previous: PreviousTurn | None = None) -> TurnDecision:
        """Route ``text`` given the previous turn of its thread (``None`` when it is the first)."""
        if not self.active:
            return TurnDecision(decision=self.router.route(text))
        # "no wait, order 59" gives the previous request a new value: one part, not two.
        borrows = previous is not None and followup.inherits_verb(text, self.starters)
        parts = [Part(text=text, route_text=text)] if borrows else self.parts(text)
        if len(parts) > 1:
            return TurnDecision(decision=self._multi(parts))
        part = parts[0]
        own = self._on_instruction(part, self.router.route(part.route_text))
        # "this" in "put this into Spanish: <text>" is the pasted text, not the thread.
        pasted = part.pasted
        # "thanks", "good night" after an answer close the thread's task; they are not about it
        # (no social turn is a confirmation: the two patterns share no word).
        if previous is not None and previous.agents and not pasted and not is_social(text):
            row = followup.features(
                part.route_text,
                own,
                previous.agents,
                self.starters,
                self.families,
                previous.request,
            )
            p = self.model.followup.probability(row)
            if confirms(text) or corrects(text, self.starters):
                stay, calls = True, 0  # "yes, go ahead", "sorry, I meant 1189": the same request
            else:
                stay, calls = self._arbitrate(p, text, own, previous)
            # A turn that neither refers back nor leans to the previous agents' family on its
            # own ("side brushes" after a translation) is a new topic, however short; a short
            # one no agent takes alone ("why?", "what broke?") can only mean the thread's.
            prev_family = row[followup.FEATURES.index("previous_family_mass")]
            unrouted = (own.out_of_scope or not own.agents) and len(words(text)) <= FRAGMENT_WORDS
            leans = stay
            stay = stay and (_refers_back(text) or prev_family >= 0.5 or unrouted or borrows)
            # A short turn pointing back ("raise it to 10000") that no agent takes alone goes to
            # the thread's agents rather than being refused.
            stay = stay or (unrouted and has_anaphor(text))
            carried = _carry(previous, text)
            context = carried if _refers_back(text) else None
            agents = _within(previous.agents, own)
            followed = TurnDecision(
                decision=RouteDecision(
                    agents=agents,
                    scores=own.scores,
                    clauses=[ClauseRoute(text=part.text, agent=a, score=1.0) for a in agents],
                    method="conversation",
                    model_calls=own.model_calls + calls,
                    confidence=own.confidence,
                ),
                kind="followup",
                followup_probability=p,
                context=carried,
            )
            if stay:
                return followed
            own = own.model_copy(update={"model_calls": own.model_calls + calls})
            turn = self._clarified(part, own, previous)
            if turn.decision.ambiguous and leans:
                return followed  # the rule leaned to the thread: "how many rows?" is not asked
            return turn.model_copy(update={"followup_probability": p, "context": context})
        if previous is None and not pasted and is_followup_cue(text) and has_anaphor(text):
            return TurnDecision(
                decision=RouteDecision(agents=[], out_of_scope=True, scores=own.scores),
                kind="no_context",
                notice=(
                    f"{text!r} reads like a follow-up, but this thread has no earlier request "
                    "for it to follow. Say what it is about (for example the invoice, order or "
                    "part number) and ask again."
                ),
            )
        return self._clarified(part, own)

    def _on_instruction(
        self, part: Part, own: RouteDecision, *, dependent: bool = False
    ) -> RouteDecision:
        """A part carrying a payload, or (``dependent``) working on an earlier part's result
        ("then order more of those"), goes to the agent its instruction's verb names (learned
        from the roster examples: "proofread ...", "draft a reply ..." for "reply to this"),
        when the examples agree on one; otherwise the router's route of the instruction."""
        if not (part.pasted or dependent):
            return own
        agent = self.verbs.agent(part.route_text)
        if agent is None or own.agents == [agent]:
            return own
        return own.model_copy(
            update={
                "agents": [agent],
                "ambiguous": False,
                "out_of_scope": False,
                "method": "instruction",
                "clauses": [ClauseRoute(text=part.route_text, agent=agent, score=1.0)],
            }
        )

    def _verbs_on_dependents(self, d: RouteDecision) -> RouteDecision:
        """A later clause of a router split that works on an earlier one's result ("... and
        order more of those") goes to the agent its verb names, when the examples agree."""
        if len(d.clauses) < 2:
            return d
        clauses = list(d.clauses)
        for i, c in enumerate(clauses[1:], start=1):
            agent = self.verbs.agent(c.text) if has_reference(c.text) else None
            if agent is not None and c.agent is not None:
                clauses[i] = c.model_copy(update={"agent": agent})
        if clauses == list(d.clauses):
            return d
        agents = list(dict.fromkeys(c.agent for c in clauses if c.agent))
        return d.model_copy(update={"clauses": clauses, "agents": agents})

    def _arbitrate(
        self, p: float, text: str, own: RouteDecision, previous: PreviousTurn
    ) -> tuple[bool, int]:
        """Follow-up or not; a configured model decides when the rule is unsure (one call)."""
        rule = self.model.followup
        top = own.agents[0] if own.agents else None
        if not rule.unsure(p) or self.arbiter is None or top is None or top in previous.agents:
            return rule.decide(p), 0
        prompt = f"Previous request: {previous.request}\nNew message: {text}"
        choice = self.arbiter.choose(prompt, [*previous.agents, top])
        return choice in previous.agents, 1

    def _clarified(
        self, part: Part, own: RouteDecision, previous: PreviousTurn | None = None
    ) -> TurnDecision:
        """The request's own route, asked back when the clarification rule says so; in a
        thread, an option the previous turn used, or the best one for a turn that refers
        back, settles it without asking."""
        own = self._verbs_on_dependents(self._whole_unless_requests(own, part.text))
        if len({c.agent for c in own.clauses}) > 1 or own.method in SETTLED_METHODS:
            if own.method == "instruction":
                clauses = [c.model_copy(update={"text": part.text}) for c in own.clauses]
                own = own.model_copy(update={"clauses": clauses})
            return TurnDecision(decision=own)
        row = clarify.features(part.route_text, own, self.starters, self.families)
        p = self.model.clarify.probability(row)
        wants = self.model.clarify.decide(p)
        # The options are read only to ask, or to settle an ambiguous route: most turns skip
        # them (the word support behind them scans every agent's examples).
        opts = (
            clarify.options(
                own,
                self.families,
                text=part.route_text,
                support=self.support,
                neighbours=self.neighbours,
            )
            if wants or own.ambiguous
            else []
        )
        ask = wants and len(opts) > 1
        if own.out_of_scope and (len(part.route_text.split()) > FRAGMENT_WORDS or row[_ACTION]):
            ask = False  # a full request no agent covers is refused, not asked about
        if part.pasted and row[_ACTION]:
            ask = False  # an action on pasted text ("condense this: ...") is a whole request
        if is_social(part.route_text):
            ask = False  # "hello", "thanks a lot": whole, for whichever agent the router picks
        if ask and previous is not None:
            # An option the previous turn used settles it only when the request leans to it
            # ("good night" after a purchase order is asked about, not put on the order).
            near = {a for a, _ in clarify.ranked(own)[:2]}
            known = [a for a in opts if a in previous.agents and a in near]
            if known or _refers_back(part.route_text):
                opts, ask = (opts if _refers_back(part.route_text) else known)[:1], False
                own = own.model_copy(update={"agents": opts, "ambiguous": False})
        if ask:
            decision = own.model_copy(
                update={"agents": opts, "ambiguous": True, "out_of_scope": False}
            )
        elif own.ambiguous:  # the router's margin alone flagged it; the rule says it is clear
            top = opts[0] if opts else own.agents[0]
            decision = own.model_copy(update={"agents": [top], "ambiguous": False})
        else:
            decision = own
        if part.text != part.route_text:
            clauses = [c.model_copy(update={"text": part.text}) for c in decision.clauses]
            decision = decision.model_copy(update={"clauses": clauses})
        return TurnDecision(decision=decision, clarify_probability=p)

    def _whole_unless_requests(self, d: RouteDecision, text: str) -> RouteDecision:
        """Undo a split at a bare "and" unless every later half opens like a request ("list
        ...", "what ..."): "the KM 75 and the KM 85 brushes" is one request."""
        if len({c.agent for c in d.clauses}) < 2 or d.method != "embedding":
            return d
        if all(_opens_request(c.text, self.starters) for c in d.clauses[1:]):
            return d
        top = max(d.scores, key=lambda a: d.scores[a]) if d.scores else None
        if top is None:
            return d
        whole = text
        return d.model_copy(
            update={
                "agents": [top],
                "clauses": [ClauseRoute(text=whole, agent=top, score=d.confidence or 0.0)],
            }
        )

    def _multi(self, parts: list[Part]) -> RouteDecision:
        """Route every part; a part no agent takes stays in the clauses with agent ``None``."""
        decisions = self._route_many([p.route_text for p in parts])
        found: list[ClauseRoute] = []
        for i, (part, d) in enumerate(zip(parts, decisions, strict=True)):
            dependent = i > 0 and len(d.clauses) < 2 and has_reference(part.text)
            d = self._on_instruction(part, d, dependent=dependent)
            d = self._verbs_on_dependents(self._whole_unless_requests(d, part.text))
            score = float(d.confidence or 0.0)
            if d.out_of_scope or not d.agents:
                found.append(ClauseRoute(text=part.text, agent=None, score=score))
            elif len({c.agent for c in d.clauses}) > 1:
                found.extend(c for c in d.clauses if c.agent)
            else:
                found.append(ClauseRoute(text=part.text, agent=d.agents[0], score=score))
        merged: dict[str | None, ClauseRoute] = {}
        unhandled = [c for c in found if c.agent is None]
        for c in found:
            if c.agent is None:
                continue
            if c.agent in merged:
                prev = merged[c.agent]
                c = prev.model_copy(update={"text": f"{prev.text}; {c.text}"})
            merged[c.agent] = c
        agents = [a for a in merged if a]
        return RouteDecision(
            agents=agents,
            scores=decisions[0].scores,
            out_of_scope=not agents,
            clauses=[*merged.values(), *unhandled],
            method="parts",
            model_calls=sum(d.model_calls for d in decisions),
            confidence=min((c.score for c in found), default=None),
        )


def _opens_request(text: str, starters: frozenset[str]) -> bool:
    w = text.split()
    return bool(w) and w[0].lower().strip(",.;:!?") in starters


def _within(previous: Sequence[str], own: RouteDecision) -> list[str]:
    """The previous agents a follow-up goes to: all of them, or, after a turn that used several
    ("show invoice 1043 and track order 57"), the one the turn names on its own ("is the invoice
    paid?")."""
    if len(previous) > 1 and not own.out_of_scope and own.agents and own.agents[0] in previous:
        return [own.agents[0]]
    return list(previous)


def _refers_back(text: str) -> bool:
    return is_followup_cue(text) or has_anaphor(text)


def _carry(previous: PreviousTurn, text: str) -> CarriedContext:
    del text
    return CarriedContext(
        previous_request=previous.request,
        referents=referents(previous.request),
        previous_answer=previous.answer,
    )


def previous_turn(messages: Sequence[Any], state: dict[str, Any]) -> PreviousTurn | None:
    """The thread's previous turn from its messages and the last routes (``None`` if none)."""
    earlier = list(messages[:-1])
    request = next((m for m in reversed(earlier) if isinstance(m, HumanMessage)), None)
    if request is None:
        return None
    answer = next((m for m in reversed(earlier) if isinstance(m, AIMessage) and m.content), None)
    return PreviousTurn(
        request=str(message_text(request)),
        agents=list(state.get("routes") or []),
        answer=str(message_text(answer)) if answer is not None else "",
    )


def agent_context(
    messages: Sequence[Any], policy: ContextPolicy, carried: CarriedContext | None
) -> tuple[list[dict[str, str]], str]:
    """What one agent sees of the thread under its context ``policy``: the last ``turns``
    earlier requests (with answers only when ``previous_answer``), within ``max_chars``,
    and the carried follow-up context as a line of text."""
    history: list[dict[str, str]] = []
    users = 0
    budget = policy.max_chars
    for m in reversed(list(messages[:-1])):
        if users >= policy.turns or budget <= 0:
            break
        if isinstance(m, HumanMessage):
            users += 1
            role = "user"
        elif isinstance(m, AIMessage) and m.content and policy.previous_answer and users == 0:
            role = "assistant"
        else:
            continue
        content = str(message_text(m))[:budget]
        budget -= len(content)
        history.insert(0, {"role": role, "content": content})
    note = ""
    if carried is not None and policy.turns > 0:
        note = f"This follows the earlier request {carried.previous_request!r}"
        if carried.referents:
            note += f" (about {', '.join(carried.referents)})"
        note += "."
    return history, note[: max(policy.max_chars, 0)]
