"""ERP tools over the Sweeper Parts demo database: typed queries, and writes behind approval."""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from langchain_core.tools import BaseTool, tool
from pydantic import Field

from nova_app.tools import erp_db
from nova_app.tools.matching import best_matches
from nova_graph.errors import ToolError
from nova_graph.tools.approval import approved_call, writes
from nova_graph.tools.context import ToolContext
from nova_graph.tools.effects import EffectAlreadyApplied

_SKU = re.compile(r"\bSP-?(\d{4})\b", re.IGNORECASE)
_MONTH = re.compile(r"\b(20\d\d)-(0[1-9]|1[0-2])\b")
_MONTHS = "january february march april may june july august september october november december"
_MONTH_NAMES = _MONTHS.split()
_PART_FIELDS = ("sku", "name", "category", "machine")


def _table(rows: list[sqlite3.Row], columns: list[str]) -> str:
    if not rows:
        return "(no rows)"
    lines = [" | ".join(columns)]
    lines += [" | ".join(str(r[c]) if r[c] is not None else "-" for c in columns) for r in rows]
    return "\n".join(lines)


def _money(value: float) -> str:
    return f"£{value:,.2f}"


WRITE_ACTIONS = {
    "adjust_stock": "set the stock count of {part} to {quantity}",
    "create_purchase_order": "order {quantity} x {part} from its supplier",
    "receive_purchase_order": "receive purchase order {po_number} into stock",
    "cancel_sales_order": "cancel sales order {order_number}",
    "mark_invoice_paid": "mark invoice {invoice_number} as paid",
    "update_part_price": "change the selling price of {part} to {new_price}",
}
"""The ERP tools that change data, with the approval question each asks."""
_APPLIED_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS applied_calls (key TEXT PRIMARY KEY, at TEXT NOT NULL)"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _positive(name: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ToolError(f"{name} must be a finite number above zero, got {value}; give one")


def make_tools(ctx: ToolContext) -> list[BaseTool]:
    """The ERP family's tools, bound to the demo ERP under ``ctx.data_dir``."""

    @contextmanager
    def db() -> Iterator[sqlite3.Connection]:
        conn = erp_db.connect(ctx.ensure_data_dir())
        try:
            yield conn
        finally:
            conn.close()

    def find_parts(conn: sqlite3.Connection, text: str, limit: int = 10) -> list[sqlite3.Row]:
        if not text or not text.strip():
            raise ToolError("no part given: name a part (e.g. 'side brush') or a SKU like SP-1042")
        skus = [f"SP-{m}" for m in _SKU.findall(text)]
        base = (
            "SELECT p.*, s.on_hand, s.reserved, s.location, sup.name AS supplier FROM parts p "
            "JOIN stock s ON s.part_id=p.id JOIN suppliers sup ON sup.id=p.supplier_id"
        )
        if skus:
            marks = ",".join("?" * len(skus))
            return conn.execute(f"{base} WHERE p.sku IN ({marks})", skus).fetchall()
        rows = conn.execute(f"{base} ORDER BY p.id").fetchall()
        return best_matches(text, rows, _PART_FIELDS, limit=limit)

    def one_part(conn: sqlite3.Connection, text: str) -> sqlite3.Row:
        rows = find_parts(conn, text, limit=50)
        if not rows:
            raise ToolError(f"no part matches {text!r}; search the catalogue for its SKU first")
        return rows[0]

    def find_named(conn: sqlite3.Connection, table: str, text: str) -> list[sqlite3.Row]:
        if not text or not text.strip():
            raise ToolError(f"no {table[:-1]} name given: name one, e.g. 'Acme Cleaning'")
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        return best_matches(text, rows, ("name",), limit=5)

    def log_change(conn: sqlite3.Connection, action: str, detail: str) -> None:
        conn.execute(
            "INSERT INTO change_log(at, action, detail) VALUES (?,?,?)", (_now(), action, detail)
        )

    def approved_write(
        conn: sqlite3.Connection,
        name: str,
        action: str,
        *statements: tuple[str, tuple[Any, ...]],
    ) -> sqlite3.Cursor:
        """Run ``statements`` of an approved call, log the change and store the call's key, all
        in one transaction; returns the last statement's cursor. Raises
        :class:`EffectAlreadyApplied` (nothing changed) when the key is already stored, and
        :class:`ToolError` outside an approved call."""
        key = approved_call(action).key
        conn.execute(_APPLIED_SCHEMA)
        cur = None
        try:
            with conn:
                conn.execute("INSERT INTO applied_calls(key, at) VALUES (?,?)", (key, _now()))
                for sql, params in statements:
                    cur = conn.execute(sql, params)
                log_change(conn, name, action)
        except sqlite3.IntegrityError as exc:
            if "applied_calls" in str(exc):
                raise EffectAlreadyApplied(action) from None
            raise
        assert cur is not None
        return cur

    def no_match(kind: str, text: str) -> str:
        return f"No {kind} matches {text!r}. Try a shorter name or check the spelling."

    # --- catalogue -------------------------------------------------------------------------
    @tool
    def search_parts(query: str) -> str:
        """Search the parts catalogue by part name, category, machine model or SKU."""
        with db() as conn:
            rows = find_parts(conn, query)
        if not rows:
            return no_match("catalogue part", query)
        return _table(rows, ["sku", "name", "category", "machine", "unit_price"])

    @tool
    def part_details(part: str) -> str:
        """Full catalogue details of one part (SKU, machine fit, supplier, price, location)."""
        with db() as conn:
            p = one_part(conn, part)
        return (
            f"{p['sku']} {p['name']} ({p['category']}) fits {p['machine']}; "
            f"price {_money(p['unit_price'])}; supplier {p['supplier']}; "
            f"bin {p['location']}; reorder level {p['reorder_level']}"
        )

    # --- inventory -------------------------------------------------------------------------
    @tool
    def check_stock(part: str) -> str:
        """Check how many of a part are in stock: on hand, reserved and available."""
        with db() as conn:
            rows = find_parts(conn, part)
        if not rows:
            return no_match("part", part)
        lines = [
            f"{r['sku']} {r['name']} ({r['machine']}): {r['on_hand']} on hand, "
            f"{r['reserved']} reserved, {r['on_hand'] - r['reserved']} available, {r['location']}, "
            f"reorder level {r['reorder_level']}"
            + (" (low)" if r["on_hand"] - r["reserved"] <= r["reorder_level"] else "")
            for r in rows
        ]
        return "\n".join(lines)

    @tool
    def low_stock_parts() -> str:
        """List parts low in stock: available quantity at or below the reorder level."""
        with db() as conn:
            rows = conn.execute(
                "SELECT p.sku, p.name, p.machine, s.on_hand - s.reserved AS available, "
                "p.reorder_level FROM parts p JOIN stock s ON s.part_id=p.id "
                "WHERE s.on_hand - s.reserved <= p.reorder_level ORDER BY available, p.sku"
            ).fetchall()
        head = f"{len(rows)} parts at or below their reorder level:\n"
        return head + _table(rows, ["sku", "name", "machine", "available", "reorder_level"])

    @tool
    def adjust_stock(part: str, quantity: int) -> str:
        """Adjust (correct) the stock count of a part to a counted quantity; needs approval."""
        if quantity < 0:
            raise ToolError(
                f"a stock count cannot be negative ({quantity}); give the counted units"
            )
        with db() as conn:
            p = one_part(conn, part)
            action = f"set stock of {p['sku']} {p['name']} from {p['on_hand']} to {quantity}"
            update = ("UPDATE stock SET on_hand=? WHERE part_id=?", (quantity, p["id"]))
            approved_write(conn, "adjust_stock", action, update)
        return f"Done: {action}."

    # --- purchasing ------------------------------------------------------------------------
    @tool
    def list_purchase_orders(status: str = "open") -> str:
        """List purchase orders to suppliers by status: open, received or cancelled."""
        status = status.strip().lower()
        if status not in {"open", "received", "cancelled"}:
            raise ToolError(f"unknown status {status!r}; use open, received or cancelled")
        with db() as conn:
            rows = conn.execute(
                "SELECT po.id AS po, sup.name AS supplier, p.sku, p.name AS part, po.quantity, "
                "po.ordered_on, po.expected_on FROM purchase_orders po "
                "JOIN suppliers sup ON sup.id=po.supplier_id JOIN parts p ON p.id=po.part_id "
                "WHERE po.status=? ORDER BY po.expected_on, po.id",
                (status,),
            ).fetchall()
        cols = ["po", "supplier", "sku", "part", "quantity", "ordered_on", "expected_on"]
        return f"{len(rows)} {status} purchase orders:\n" + _table(rows, cols)

    @tool
    def create_purchase_order(part: str, quantity: int) -> str:
        """Create a purchase order to the part's supplier for a quantity; needs approval."""
        _positive("quantity", quantity)
        if quantity > 10_000:
            raise ToolError(f"quantity {quantity} is implausibly large; order at most 10000 units")
        with db() as conn:
            p = one_part(conn, part)
            sup = conn.execute("SELECT * FROM suppliers WHERE id=?", (p["supplier_id"],)).fetchone()
            ordered = erp_db.as_of(conn)
            expected = ordered + timedelta(days=sup["lead_time_days"])
            total = quantity * p["unit_cost"]
            action = (
                f"order {quantity} x {p['sku']} {p['name']} from {sup['name']} "
                f"at {_money(p['unit_cost'])} each ({_money(total)})"
            )
            insert = (
                "INSERT INTO purchase_orders(supplier_id, part_id, quantity, unit_cost, "
                "status, ordered_on, expected_on) VALUES (?,?,?,?,'open',?,?)",
                (
                    sup["id"],
                    p["id"],
                    quantity,
                    p["unit_cost"],
                    ordered.isoformat(),
                    expected.isoformat(),
                ),
            )
            cur = approved_write(conn, "create_purchase_order", action, insert)
        return f"Created purchase order {cur.lastrowid}: {action}; expected {expected}."

    @tool
    def receive_purchase_order(po_number: int) -> str:
        """Receive a purchase order into stock (adds its quantity on hand); needs approval."""
        with db() as conn:
            po = conn.execute(
                "SELECT po.*, p.sku FROM purchase_orders po JOIN parts p ON p.id=po.part_id "
                "WHERE po.id=?",
                (po_number,),
            ).fetchone()
            if po is None:
                raise ToolError(f"no purchase order {po_number}; list open purchase orders first")
            if po["status"] != "open":
                return f"Purchase order {po_number} is {po['status']}; only open orders arrive."
            action = f"receive PO {po_number}: add {po['quantity']} x {po['sku']} to stock"
            received = ("UPDATE purchase_orders SET status='received' WHERE id=?", (po_number,))
            restock = (
                "UPDATE stock SET on_hand=on_hand+? WHERE part_id=?",
                (po["quantity"], po["part_id"]),
            )
            name = "receive_purchase_order"
            approved_write(conn, name, action, received, restock)
        return f"Done: {action}."

    # --- sales orders ----------------------------------------------------------------------
    @tool
    def sales_order_details(order_number: int) -> str:
        """Show a customer sales order: customer, status, lines and total."""
        with db() as conn:
            so = conn.execute(
                "SELECT so.*, c.name AS customer FROM sales_orders so "
                "JOIN customers c ON c.id=so.customer_id WHERE so.id=?",
                (order_number,),
            ).fetchone()
            if so is None:
                return f"There is no sales order {order_number} (orders run from 1 to 400+)."
            lines = conn.execute(
                "SELECT p.sku, p.name, l.quantity, l.unit_price FROM sales_order_lines l "
                "JOIN parts p ON p.id=l.part_id WHERE l.order_id=?",
                (order_number,),
            ).fetchall()
        head = (
            f"Sales order {so['id']} for {so['customer']}, {so['ordered_on']}, {so['status']}, "
            f"total {_money(so['total'])}\n"
        )
        return head + _table(lines, ["sku", "name", "quantity", "unit_price"])

    @tool
    def recent_sales_orders(status: str = "") -> str:
        """List the most recent customer sales orders, optionally by status (pending, shipped)."""
        status = status.strip().lower()
        with db() as conn:
            rows = conn.execute(
                "SELECT so.id AS order_no, c.name AS customer, so.ordered_on, so.status, so.total "
                "FROM sales_orders so JOIN customers c ON c.id=so.customer_id "
                "WHERE (?='' OR so.status=?) ORDER BY so.ordered_on DESC, so.id DESC LIMIT 15",
                (status, status),
            ).fetchall()
        return _table(rows, ["order_no", "customer", "ordered_on", "status", "total"])

    @tool
    def cancel_sales_order(order_number: int) -> str:
        """Cancel a pending customer sales order; needs approval."""
        with db() as conn:
            so = conn.execute("SELECT * FROM sales_orders WHERE id=?", (order_number,)).fetchone()
            if so is None:
                raise ToolError(f"no sales order {order_number}; check the order number")
            if so["status"] != "pending":
                return f"Sales order {order_number} is {so['status']}; only pending orders cancel."
            action = f"cancel sales order {order_number} ({_money(so['total'])})"
            cancel = ("UPDATE sales_orders SET status='cancelled' WHERE id=?", (order_number,))
            unship = (
                "DELETE FROM shipments WHERE sales_order_id=? AND status='preparing'",
                (order_number,),
            )
            name = "cancel_sales_order"
            approved_write(conn, name, action, cancel, unship)
        return f"Done: {action}."

    # --- invoicing -------------------------------------------------------------------------
    @tool
    def invoice_details(invoice_number: int) -> str:
        """Show one invoice: customer, amount, issue and due dates, paid or unpaid."""
        with db() as conn:
            inv = conn.execute(
                "SELECT i.*, c.name AS customer FROM invoices i "
                "JOIN customers c ON c.id=i.customer_id WHERE i.id=?",
                (invoice_number,),
            ).fetchone()
        if inv is None:
            return f"There is no invoice {invoice_number} (invoice numbers start at 1001)."
        paid = f"paid on {inv['paid_on']}" if inv["status"] == "paid" else "unpaid"
        return (
            f"Invoice {inv['id']} to {inv['customer']} for sales order {inv['sales_order_id']}: "
            f"{_money(inv['amount'])}, issued {inv['issued_on']}, due {inv['due_on']}, {paid}"
        )

    @tool
    def list_unpaid_invoices() -> str:
        """List all unpaid invoices with amounts and due dates, and their total."""
        with db() as conn:
            rows = conn.execute(
                "SELECT i.id AS invoice, c.name AS customer, i.amount, i.due_on FROM invoices i "
                "JOIN customers c ON c.id=i.customer_id WHERE i.status='unpaid' "
                "ORDER BY i.due_on, i.id"
            ).fetchall()
        total = sum(r["amount"] for r in rows)
        head = f"{len(rows)} unpaid invoices, {_money(total)} in total:\n"
        return head + _table(rows, ["invoice", "customer", "amount", "due_on"])

    @tool
    def mark_invoice_paid(invoice_number: int) -> str:
        """Mark an invoice as paid (record the payment); needs approval."""
        with db() as conn:
            inv = conn.execute("SELECT * FROM invoices WHERE id=?", (invoice_number,)).fetchone()
            if inv is None:
                raise ToolError(f"no invoice {invoice_number}; list unpaid invoices first")
            if inv["status"] == "paid":
                return f"Invoice {invoice_number} is already paid (on {inv['paid_on']})."
            action = f"mark invoice {invoice_number} ({_money(inv['amount'])}) as paid"
            update = (
                "UPDATE invoices SET status='paid', paid_on=? WHERE id=?",
                (erp_db.as_of(conn).isoformat(), invoice_number),
            )
            approved_write(conn, "mark_invoice_paid", action, update)
        return f"Done: {action}."

    # --- customers -------------------------------------------------------------------------
    @tool
    def find_customer(name: str) -> str:
        """Find a customer account by company name: contact email, city, credit limit."""
        with db() as conn:
            rows = find_named(conn, "customers", name)
        if not rows:
            return no_match("customer", name)
        return _table(rows, ["id", "name", "email", "city", "country", "credit_limit"])

    @tool
    def customer_order_history(name: str) -> str:
        """A customer's order history: number of orders, total spent, last orders."""
        with db() as conn:
            rows = find_named(conn, "customers", name)
            if not rows:
                return no_match("customer", name)
            c = rows[0]
            orders = conn.execute(
                "SELECT id AS order_no, ordered_on, status, total FROM sales_orders "
                "WHERE customer_id=? ORDER BY ordered_on DESC",
                (c["id"],),
            ).fetchall()
        spent = sum(o["total"] for o in orders if o["status"] != "cancelled")
        head = f"{c['name']}: {len(orders)} orders, {_money(spent)} spent. Latest:\n"
        return head + _table(orders[:10], ["order_no", "ordered_on", "status", "total"])

    # --- suppliers -------------------------------------------------------------------------
    @tool
    def find_supplier(name: str) -> str:
        """Find a supplier (vendor) by name, or list all: country, email and lead time."""
        with db() as conn:
            rows = (
                find_named(conn, "suppliers", name)
                or conn.execute("SELECT * FROM suppliers ORDER BY name").fetchall()
            )
        return _table(rows, ["id", "name", "email", "country", "lead_time_days"])

    @tool
    def supplier_parts(name: str) -> str:
        """Which parts a supplier (vendor) provides, with our unit cost from them."""
        with db() as conn:
            rows = find_named(conn, "suppliers", name)
            if not rows:
                return no_match("supplier", name)
            sup = rows[0]
            parts = conn.execute(
                "SELECT sku, name, machine, unit_cost FROM parts WHERE supplier_id=? ORDER BY sku",
                (sup["id"],),
            ).fetchall()
        head = f"{sup['name']} supplies {len(parts)} parts:\n"
        return head + _table(parts, ["sku", "name", "machine", "unit_cost"])

    # --- pricing ---------------------------------------------------------------------------
    @tool
    def part_price(part: str) -> str:
        """Price of a part: selling price, our cost and the margin."""
        with db() as conn:
            rows = find_parts(conn, part)
        if not rows:
            return no_match("part", part)
        return "\n".join(
            f"{r['sku']} {r['name']} ({r['machine']}): sells at {_money(r['unit_price'])}, "
            f"costs {_money(r['unit_cost'])}, margin "
            f"{100 * (r['unit_price'] - r['unit_cost']) / r['unit_price']:.0f}%"
            for r in rows
        )

    @tool
    def lowest_margin_parts() -> str:
        """Parts with the lowest margin between selling price and cost."""
        with db() as conn:
            rows = conn.execute(
                "SELECT sku, name, unit_price, unit_cost, "
                "ROUND(100.0*(unit_price-unit_cost)/unit_price, 1) AS margin_pct "
                "FROM parts ORDER BY margin_pct, sku LIMIT 10"
            ).fetchall()
        return _table(rows, ["sku", "name", "unit_price", "unit_cost", "margin_pct"])

    @tool
    def update_part_price(
        part: str, new_price: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    ) -> str:
        """Change the selling price of a part to a new price; needs approval."""
        _positive("new_price", new_price)
        with db() as conn:
            p = one_part(conn, part)
            if new_price < p["unit_cost"]:
                raise ToolError(
                    f"{_money(new_price)} is below our cost {_money(p['unit_cost'])} for "
                    f"{p['sku']}; choose a price above cost"
                )
            action = (
                f"change price of {p['sku']} {p['name']} from {_money(p['unit_price'])} "
                f"to {_money(new_price)}"
            )
            update = ("UPDATE parts SET unit_price=? WHERE id=?", (new_price, p["id"]))
            approved_write(conn, "update_part_price", action, update)
        return f"Done: {action}."

    # --- shipping --------------------------------------------------------------------------
    @tool
    def track_shipment(order_number: int) -> str:
        """Track the shipment (delivery) of a sales order: carrier, tracking number, status."""
        with db() as conn:
            row = conn.execute(
                "SELECT * FROM shipments WHERE sales_order_id=? OR id=? ORDER BY id LIMIT 1",
                (order_number, order_number),
            ).fetchone()
        if row is None:
            return f"No shipment found for order {order_number}; it may not be dispatched yet."
        return (
            f"Shipment {row['id']} for order {row['sales_order_id']}: {row['carrier']} "
            f"{row['tracking']}, {row['status']}, shipped {row['shipped_on'] or '-'}, "
            f"delivered {row['delivered_on'] or '-'}"
        )

    @tool
    def shipments_awaiting_dispatch() -> str:
        """Shipments awaiting dispatch (being prepared) and parcels still in transit."""
        with db() as conn:
            rows = conn.execute(
                "SELECT sh.id AS shipment, sh.sales_order_id AS order_no, c.name AS customer, "
                "sh.carrier, sh.status FROM shipments sh "
                "JOIN sales_orders so ON so.id=sh.sales_order_id "
                "JOIN customers c ON c.id=so.customer_id "
                "WHERE sh.status IN ('preparing','in_transit') ORDER BY sh.status, sh.id"
            ).fetchall()
        return _table(rows, ["shipment", "order_no", "customer", "carrier", "status"])

    # --- receivables -----------------------------------------------------------------------
    @tool
    def overdue_invoices() -> str:
        """Overdue invoices: unpaid past their due date, with days overdue."""
        with db() as conn:
            today = erp_db.as_of(conn)
            rows = conn.execute(
                "SELECT i.id AS invoice, c.name AS customer, i.amount, i.due_on, "
                "CAST(julianday(?) - julianday(i.due_on) AS INTEGER) AS days_overdue "
                "FROM invoices i JOIN customers c ON c.id=i.customer_id "
                "WHERE i.status='unpaid' AND i.due_on < ? ORDER BY days_overdue DESC, i.id",
                (today.isoformat(), today.isoformat()),
            ).fetchall()
        total = sum(r["amount"] for r in rows)
        head = f"{len(rows)} overdue invoices as of {today}, {_money(total)} outstanding:\n"
        return head + _table(rows, ["invoice", "customer", "amount", "due_on", "days_overdue"])

    @tool
    def customer_balance(customer: str) -> str:
        """How much a customer owes us: unpaid invoice balance and the overdue part."""
        with db() as conn:
            rows = find_named(conn, "customers", customer)
            if not rows:
                return no_match("customer", customer)
            c = rows[0]
            today = erp_db.as_of(conn).isoformat()
            owed, overdue = conn.execute(
                "SELECT COALESCE(SUM(amount),0), COALESCE(SUM(CASE WHEN due_on < ? "
                "THEN amount ELSE 0 END),0) FROM invoices WHERE customer_id=? AND status='unpaid'",
                (today, c["id"]),
            ).fetchone()
        return (
            f"{c['name']} owes {_money(owed)} ({_money(overdue)} overdue); "
            f"credit limit {_money(c['credit_limit'])}"
        )

    @tool
    def receivables_ageing() -> str:
        """Receivables ageing report: unpaid amounts bucketed by days past due."""
        with db() as conn:
            today = erp_db.as_of(conn)
            rows = conn.execute(
                "SELECT amount, due_on FROM invoices WHERE status='unpaid'"
            ).fetchall()
        buckets = {"not yet due": 0.0, "1-30 days": 0.0, "31-60 days": 0.0, "60+ days": 0.0}
        for r in rows:
            late = (today - date.fromisoformat(r["due_on"])).days
            key = (
                "not yet due"
                if late <= 0
                else "1-30 days"
                if late <= 30
                else "31-60 days"
                if late <= 60
                else "60+ days"
            )
            buckets[key] += r["amount"]
        return "\n".join(f"{k}: {_money(v)}" for k, v in buckets.items())

    # --- forecast --------------------------------------------------------------------------
    def daily_demand(conn: sqlite3.Connection, part_id: int, window: int = 90) -> float:
        since = (erp_db.as_of(conn) - timedelta(days=window)).isoformat()
        sold = conn.execute(
            "SELECT COALESCE(SUM(l.quantity),0) FROM sales_order_lines l "
            "JOIN sales_orders so ON so.id=l.order_id "
            "WHERE l.part_id=? AND so.status!='cancelled' AND so.ordered_on>=?",
            (part_id, since),
        ).fetchone()[0]
        return float(sold) / window

    @tool
    def forecast_part_demand(part: str, days: int = 30) -> str:
        """Forecast demand for a part and when it runs out, from the last 90 days of sales."""
        _positive("days", days)
        with db() as conn:
            p = one_part(conn, part)
            rate = daily_demand(conn, p["id"])
        available = p["on_hand"] - p["reserved"]
        need = rate * days
        cover = f"{available / rate:.0f} days" if rate > 0 else "no recent sales"
        return (
            f"{p['sku']} {p['name']}: sells {rate * 30:.1f}/month; expect {need:.0f} in the next "
            f"{days} days; {available} available covers {cover}"
        )

    @tool
    def reorder_suggestions() -> str:
        """Suggest what to reorder: parts whose stock runs out within the supplier lead time."""
        with db() as conn:
            rows = conn.execute(
                "SELECT p.id, p.sku, p.name, s.on_hand - s.reserved AS available, "
                "sup.lead_time_days FROM parts p JOIN stock s ON s.part_id=p.id "
                "JOIN suppliers sup ON sup.id=p.supplier_id ORDER BY p.sku"
            ).fetchall()
            out = []
            for r in rows:
                rate = daily_demand(conn, r["id"])
                if rate > 0 and r["available"] / rate <= r["lead_time_days"] + 7:
                    qty = max(1, round(rate * (r["lead_time_days"] + 30) - r["available"]))
                    out.append(
                        f"{r['sku']} {r['name']}: {r['available']} left, ~{rate * 30:.1f}/month, "
                        f"lead time {r['lead_time_days']}d -> order {qty}"
                    )
        return f"{len(out)} parts to reorder:\n" + "\n".join(out) if out else "Nothing to reorder."

    # --- reports ---------------------------------------------------------------------------
    def month_of(text: str, today: date) -> str:
        if m := _MONTH.search(text):
            return f"{m.group(1)}-{m.group(2)}"
        low = text.lower()
        for i, name in enumerate(_MONTH_NAMES, start=1):
            if name in low or re.search(rf"\b{name[:3]}\b", low):
                year = today.year if i <= today.month else today.year - 1
                return f"{year}-{i:02d}"
        return f"{today.year}-{today.month:02d}"

    @tool
    def monthly_sales_report(month: str = "") -> str:
        """Sales report for a month (e.g. '2025-05' or 'May'): orders, revenue, top customers."""
        with db() as conn:
            ym = month_of(month, erp_db.as_of(conn))
            orders, revenue = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(total),0) FROM sales_orders "
                "WHERE status!='cancelled' AND substr(ordered_on,1,7)=?",
                (ym,),
            ).fetchone()
            top = conn.execute(
                "SELECT c.name AS customer, ROUND(SUM(so.total),2) AS revenue FROM sales_orders so "
                "JOIN customers c ON c.id=so.customer_id WHERE so.status!='cancelled' "
                "AND substr(so.ordered_on,1,7)=? GROUP BY c.id ORDER BY revenue DESC LIMIT 5",
                (ym,),
            ).fetchall()
        head = f"Sales {ym}: {orders} orders, {_money(revenue)} revenue. Top customers:\n"
        return head + _table(top, ["customer", "revenue"])

    @tool
    def top_selling_parts(limit: int = 10) -> str:
        """Best-selling (top selling) parts by units sold, with revenue."""
        limit = max(1, min(limit, 50))
        with db() as conn:
            rows = conn.execute(
                "SELECT p.sku, p.name, SUM(l.quantity) AS units, "
                "ROUND(SUM(l.quantity*l.unit_price),2) AS revenue FROM sales_order_lines l "
                "JOIN sales_orders so ON so.id=l.order_id JOIN parts p ON p.id=l.part_id "
                "WHERE so.status!='cancelled' GROUP BY p.id ORDER BY units DESC, p.sku LIMIT ?",
                (limit,),
            ).fetchall()
        return _table(rows, ["sku", "name", "units", "revenue"])

    @tool
    def inventory_valuation() -> str:
        """Inventory valuation: stock value at cost and at selling price, per category."""
        with db() as conn:
            rows = conn.execute(
                "SELECT p.category, SUM(s.on_hand) AS units, "
                "ROUND(SUM(s.on_hand*p.unit_cost),2) AS at_cost, "
                "ROUND(SUM(s.on_hand*p.unit_price),2) AS at_price FROM parts p "
                "JOIN stock s ON s.part_id=p.id GROUP BY p.category ORDER BY at_cost DESC"
            ).fetchall()
        total = sum(r["at_cost"] for r in rows)
        head = f"Stock value at cost {_money(total)}:\n"
        return head + _table(rows, ["category", "units", "at_cost", "at_price"])

    tools: list[BaseTool] = [
        search_parts, part_details, check_stock, low_stock_parts, adjust_stock,
        list_purchase_orders, create_purchase_order, receive_purchase_order,
        sales_order_details, recent_sales_orders, cancel_sales_order,
        invoice_details, list_unpaid_invoices, mark_invoice_paid,
        find_customer, customer_order_history, find_supplier, supplier_parts,
        part_price, lowest_margin_parts, update_part_price,
        track_shipment, shipments_awaiting_dispatch,
        overdue_invoices, customer_balance, receivables_ageing,
        forecast_part_demand, reorder_suggestions,
        monthly_sales_report, top_selling_parts, inventory_valuation,
    ]  # fmt: skip
    return [
        writes(t, action=WRITE_ACTIONS[t.name], atomic=True) if t.name in WRITE_ACTIONS else t
        for t in tools
    ]
