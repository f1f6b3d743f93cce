"""The embedded offline model: calls a tool only when the request clearly asks for it."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from nova_graph.models import OFFLINE_NOTICE, OfflineChatModel


@tool
def mark_invoice_paid(invoice_id: int) -> str:
    """Mark an invoice as paid."""
    return f"invoice {invoice_id} paid"


@tool
def update_part_price(part: str, price: float) -> str:
    """Update the price of a part."""
    return f"{part} now {price}"


@tool
def word_count(text: str) -> str:
    """Count words in a text."""
    return str(len(text.split()))


def _reply(request: str, *tools: object) -> AIMessage:
    model = OfflineChatModel().bind_tools(list(tools))
    out = model.invoke([HumanMessage(request)])
    assert isinstance(out, AIMessage)
    return out


def test_calls_the_tool_the_request_names_with_the_number_it_gives() -> None:
    out = _reply("mark invoice 1021 as paid", mark_invoice_paid, word_count)
    assert out.tool_calls[0]["name"] == "mark_invoice_paid"
    assert out.tool_calls[0]["args"] == {"invoice_id": 1021}


def test_a_number_inside_a_part_code_is_not_taken_as_a_value() -> None:
    out = _reply("update the price of part SP-1005 to 199.5", update_part_price)
    assert out.tool_calls[0]["args"]["price"] == 199.5


def test_text_tools_get_the_text_after_the_colon() -> None:
    out = _reply("count the words: alpha beta gamma", word_count, mark_invoice_paid)
    assert out.tool_calls[0] == {
        "name": "word_count",
        "args": {"text": "alpha beta gamma"},
        "id": "call_word_count",
        "type": "tool_call",
    }


def test_no_tool_call_when_a_required_number_is_missing() -> None:
    out = _reply("mark the invoice as paid", mark_invoice_paid)
    assert out.tool_calls == []
    assert OFFLINE_NOTICE in str(out.content)


def test_no_tool_call_when_nothing_matches_and_the_answer_says_so() -> None:
    out = _reply("write me a sonnet about autumn", mark_invoice_paid, word_count)
    assert out.tool_calls == []
    assert "without a language model" in str(out.content)


def test_answers_from_tool_results_once_they_are_in() -> None:
    model = OfflineChatModel().bind_tools([word_count])
    call = {"name": "word_count", "args": {"text": "a b"}, "id": "c1"}
    out = model.invoke(
        [
            HumanMessage("count the words: a b"),
            AIMessage(content="", tool_calls=[call]),
            ToolMessage("2", tool_call_id="c1", name="word_count"),
        ]
    )
    assert out.tool_calls == []
    assert "Result of `word_count`:\n2" in str(out.content)


def test_is_deterministic() -> None:
    a = _reply("mark invoice 7 as paid", mark_invoice_paid, word_count)
    b = _reply("mark invoice 7 as paid", mark_invoice_paid, word_count)
    assert a.tool_calls == b.tool_calls and a.content == b.content


def test_a_question_never_picks_a_write_tool() -> None:
    """ "is it paid?" reads: a tool declared as writing (needs approval) is not called for it,
    while the same words as an instruction still call it."""
    from nova_graph.tools.approval import writes

    @tool
    def invoice_details(invoice_id: int) -> str:
        """Show an invoice (customer, amount, paid or not)."""
        return f"invoice {invoice_id}"

    @tool
    def pay_invoice(invoice_id: int) -> str:
        """Mark an invoice as paid."""
        return f"invoice {invoice_id} paid"

    writer = writes(pay_invoice)
    asked = _reply("and is invoice 1021 paid?", writer, invoice_details)
    assert [c["name"] for c in asked.tool_calls] == ["invoice_details"]
    assert not _reply("is invoice 1021 paid?", writer).tool_calls
    told = _reply("mark invoice 1021 as paid", writer, invoice_details)
    assert told.tool_calls[0]["name"] == "pay_invoice"
