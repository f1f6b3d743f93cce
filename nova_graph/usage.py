"""Tokens and money: read a model call's token usage and price it with a user-editable table.

Token counts come from LangChain's ``AIMessage.usage_metadata`` (what the provider reported);
money comes from :class:`ModelPrice` entries keyed by model name (settings ``NOVA_PRICES``).
A model missing from the table costs 0 and is reported as unpriced, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping

from langchain_core.messages import AIMessage
from pydantic import BaseModel, ConfigDict, Field

from nova_graph.state import ModelCallRecord


class ModelPrice(BaseModel):
    """What one model costs, in your currency per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_million: float = Field(ge=0, description="Price of 1M input (prompt) tokens.")
    output_per_million: float = Field(ge=0, description="Price of 1M output tokens.")

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """The price of one call with these token counts."""
        return (
            input_tokens * self.input_per_million + output_tokens * self.output_per_million
        ) / 1_000_000


PriceTable = Mapping[str, ModelPrice]


def model_name_of(message: AIMessage, default: str) -> str:
    """The model that produced ``message`` as the provider named it, else ``default``."""
    meta = message.response_metadata or {}
    name = meta.get("model_name") or meta.get("model")
    return str(name) if name else default


def model_call_record(
    message: AIMessage, *, model: str, latency_ms: float, prices: PriceTable
) -> ModelCallRecord:
    """The :class:`ModelCallRecord` of the call that produced ``message``."""
    usage = message.usage_metadata
    tokens_in = int(usage["input_tokens"]) if usage else 0
    tokens_out = int(usage["output_tokens"]) if usage else 0
    name = model_name_of(message, model)
    price = prices.get(name) or prices.get(model)
    return ModelCallRecord(
        model=name,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost=price.cost(tokens_in, tokens_out) if price is not None else 0.0,
        latency_ms=latency_ms,
    )
