"""ERP tools run for real against the seeded demo ERP; write tools pause for approval."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import Runnable
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Command

from nova_app.tools.erp import make_tools
from nova_app.tools.erp_db import create_demo_erp, erp_path
from nova_graph.agents import tool_loop
from nova_graph.errors import ToolError
from nova_graph.models import OfflineChatModel
from nova_graph.tools.approval import gate
from nova_graph.tools.context import ToolContext
from nova_graph.tools.effects import EFFECTS_DB, EffectLedger


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("erp-seed")
    create_demo_erp(d)
    return d


@pytest.fixture()
def erp_dir(seeded: Path, tmp_path: Path) -> Path:
    shutil.copy(erp_path(seeded), tmp_path / "erp.sqlite")
    return tmp_path


def _tools(d: Path) -> dict:
    return {t.name: t for t in make_tools(ToolContext(data_dir=d))}


def _one(d: Path, sql: str) -> int:
    with sqlite3.connect(erp_path(d)) as conn:
        return conn.execute(sql).fetchone()[0]


def test_demo_erp_is_seeded_deterministically_with_hundreds_of_rows(tmp_path: Path) -> None:
    a, b = create_demo_erp(tmp_path / "a"), create_demo_erp(tmp_path / "b")
    dump = [list(sqlite3.connect(p).iterdump()) for p in (a, b)]
    assert dump[0] == dump[1]
    assert _one(tmp_path / "a", "SELECT COUNT(*) FROM sales_orders") >= 300
    assert _one(tmp_path / "a", "SELECT COUNT(*) FROM invoices") >= 200
    assert (a.stat().st_mode & 0o777) == 0o600


READS = [
    ("search_parts", {"query": "find side brushes in the catalogue"}, "Side brush"),
    ("part_details", {"part": "SP-1042"}, "SP-1042"),
    ("check_stock", {"part": "how many squeegee blades do we have"}, "on hand"),
    ("low_stock_parts", {}, "reorder level"),
    ("list_purchase_orders", {"status": "open"}, "open purchase orders"),
    ("sales_order_details", {"order_number": 57}, "Sales order 57"),
    ("recent_sales_orders", {"status": "pending"}, "pending"),
    ("invoice_details", {"invoice_number": 1043}, "Invoice 1043"),
    ("list_unpaid_invoices", {}, "unpaid invoices"),
    ("find_customer", {"name": "Acme Cleaning"}, "Acme Cleaning"),
    ("customer_order_history", {"name": "order history of Acme Cleaning"}, "orders"),
    ("find_supplier", {"name": "Brushworks"}, "Brushworks GmbH"),
    ("supplier_parts", {"name": "FilterTech"}, "FilterTech Ltd supplies"),
    ("part_price", {"part": "price of a vacuum motor"}, "margin"),
    ("lowest_margin_parts", {}, "margin_pct"),
    ("track_shipment", {"order_number": 57}, "for order 57"),
    ("shipments_awaiting_dispatch", {}, "preparing"),
    ("overdue_invoices", {}, "overdue invoices as of 2025-06-30"),
    ("customer_balance", {"customer": "how much does Acme Cleaning owe us"}, "owes"),
    ("receivables_ageing", {}, "60+ days"),
    ("forecast_part_demand", {"part": "SP-1005"}, "next 30 days"),
    ("reorder_suggestions", {}, "to reorder"),
    ("monthly_sales_report", {"month": "May"}, "Sales 2025-05"),
    ("top_selling_parts", {}, "units"),
    ("inventory_valuation", {}, "Stock value at cost"),
]


@pytest.mark.parametrize(("name", "args", "expected"), READS, ids=[r[0] for r in READS])
def test_read_tool_answers_from_the_demo_erp(
    seeded: Path, name: str, args: dict, expected: str
) -> None:
    assert expected in _tools(seeded)[name].invoke(args)


def test_check_stock_matches_the_part_inside_a_whole_request(seeded: Path) -> None:
    out = _tools(seeded)["check_stock"].invoke({"part": "how many side brushes are in stock?"})
    assert out.splitlines() and all("Side brush" in line for line in out.splitlines())


def test_unknown_part_is_a_clear_message_not_an_error(seeded: Path) -> None:
    assert "No part matches" in _tools(seeded)["check_stock"].invoke({"part": "flux capacitor"})


def test_write_tool_outside_a_graph_refuses_without_changing_anything(erp_dir: Path) -> None:
    inv = _one(erp_dir, "SELECT MIN(id) FROM invoices WHERE status='unpaid'")
    with pytest.raises(ToolError, match="approval"):
        _tools(erp_dir)["mark_invoice_paid"].invoke({"invoice_number": inv})
    assert _one(erp_dir, f"SELECT status FROM invoices WHERE id={inv}") == "unpaid"


def _graph(erp_dir: Path, tool_name: str) -> Runnable[Any, Any]:
    """The library's agent loop with one gated ERP tool, under a checkpointer (interrupts)."""
    tool = gate(_tools(erp_dir)[tool_name], EffectLedger(erp_dir / EFFECTS_DB))
    builder = StateGraph(MessagesState)
    builder.add_node("agent", tool_loop("erp", OfflineChatModel(), [tool], "You run the ERP."))
    builder.add_edge(START, "agent")
    return builder.compile(checkpointer=InMemorySaver())


def _run_with_decision(erp_dir: Path, tool_name: str, request: str, resume: object) -> tuple:
    graph = _graph(erp_dir, tool_name)
    cfg = {"configurable": {"thread_id": "t1"}}
    first = graph.invoke({"messages": [("user", request)]}, cfg)
    interrupts = first.get("__interrupt__", [])
    final = graph.invoke(Command(resume=resume), cfg)
    return interrupts, final["messages"][-2].content


def test_mark_invoice_paid_applies_only_after_approval(erp_dir: Path) -> None:
    inv = _one(erp_dir, "SELECT MIN(id) FROM invoices WHERE status='unpaid'")
    interrupts, reply = _run_with_decision(
        erp_dir, "mark_invoice_paid", f"mark invoice {inv} as paid", True
    )
    assert interrupts and interrupts[0].value["action"].startswith(f"mark invoice {inv}")
    assert "Done" in reply
    assert _one(erp_dir, f"SELECT status FROM invoices WHERE id={inv}") == "paid"


def test_rejected_invoice_payment_changes_nothing(erp_dir: Path) -> None:
    inv = _one(erp_dir, "SELECT MIN(id) FROM invoices WHERE status='unpaid'")
    interrupts, reply = _run_with_decision(
        erp_dir, "mark_invoice_paid", f"mark invoice {inv} as paid", {"approved": False}
    )
    assert interrupts and "rejected" in reply
    assert _one(erp_dir, f"SELECT status FROM invoices WHERE id={inv}") == "unpaid"


def test_create_purchase_order_waits_for_approval_then_inserts(erp_dir: Path) -> None:
    before = _one(erp_dir, "SELECT COUNT(*) FROM purchase_orders")
    graph = _graph(erp_dir, "create_purchase_order")
    cfg = {"configurable": {"thread_id": "po"}}
    first = graph.invoke({"messages": [("user", "create a purchase order for 40 side brush")]}, cfg)
    assert first["__interrupt__"][0].value["change"]["args"]["quantity"] == 40
    assert _one(erp_dir, "SELECT COUNT(*) FROM purchase_orders") == before
    graph.invoke(Command(resume={"approved": True}), cfg)
    assert _one(erp_dir, "SELECT COUNT(*) FROM purchase_orders") == before + 1


def test_rejected_purchase_order_inserts_nothing(erp_dir: Path) -> None:
    before = _one(erp_dir, "SELECT COUNT(*) FROM purchase_orders")
    _, reply = _run_with_decision(
        erp_dir, "create_purchase_order", "create a purchase order for 40 side brush", "no"
    )
    assert "nothing was changed" in reply
    assert _one(erp_dir, "SELECT COUNT(*) FROM purchase_orders") == before


def test_receive_purchase_order_adds_stock_after_approval(erp_dir: Path) -> None:
    po = _one(erp_dir, "SELECT MIN(id) FROM purchase_orders WHERE status='open'")
    part = _one(erp_dir, f"SELECT part_id FROM purchase_orders WHERE id={po}")
    qty = _one(erp_dir, f"SELECT quantity FROM purchase_orders WHERE id={po}")
    stock = _one(erp_dir, f"SELECT on_hand FROM stock WHERE part_id={part}")
    _run_with_decision(erp_dir, "receive_purchase_order", f"receive purchase order {po}", True)
    assert _one(erp_dir, f"SELECT on_hand FROM stock WHERE part_id={part}") == stock + qty


def test_cancel_sales_order_after_approval(erp_dir: Path) -> None:
    so = _one(erp_dir, "SELECT MIN(id) FROM sales_orders WHERE status='pending'")
    _run_with_decision(erp_dir, "cancel_sales_order", f"cancel sales order {so}", "yes")
    assert _one(erp_dir, f"SELECT status FROM sales_orders WHERE id={so}") == "cancelled"


def test_update_part_price_after_approval(erp_dir: Path) -> None:
    _run_with_decision(erp_dir, "update_part_price", "update price to 199.5 for part SP-1005", True)
    assert _one(erp_dir, "SELECT unit_price FROM parts WHERE sku='SP-1005'") == 199.5


def test_adjust_stock_after_approval(erp_dir: Path) -> None:
    _run_with_decision(erp_dir, "adjust_stock", "adjust stock to 7 for part SP-1005", True)
    assert _one(erp_dir, "SELECT on_hand FROM stock WHERE part_id=5") == 7


def test_price_below_cost_is_rejected_before_asking(erp_dir: Path) -> None:
    with pytest.raises(ToolError, match="below our cost"):
        _tools(erp_dir)["update_part_price"].invoke({"part": "SP-1005", "new_price": 0.5})


@pytest.mark.parametrize("price", [float("inf"), float("nan"), -5.0, 0.0])
def test_update_part_price_rejects_infinite_nan_and_negative_prices(
    erp_dir: Path, price: float
) -> None:
    from pydantic import ValidationError

    before = _one(erp_dir, "SELECT unit_price FROM parts WHERE sku='SP-1005'")
    with pytest.raises((ValidationError, ToolError)):
        _tools(erp_dir)["update_part_price"].invoke({"part": "SP-1005", "new_price": price})
    assert _one(erp_dir, "SELECT unit_price FROM parts WHERE sku='SP-1005'") == before
