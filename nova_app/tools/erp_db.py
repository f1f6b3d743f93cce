"""The demo ERP of "Sweeper Parts": SQLite schema and deterministic seeding.

The database lives at ``<data_dir>/erp.sqlite`` (mode 0o600). It is created and seeded on first
use (or by ``nova init-demo``) from ``random.Random(SEED)``, so every install holds the same rows.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

SEED = 20240611
AS_OF = date(2025, 6, 30)  # the demo's "today": overdue and forecast queries are relative to it
ERP_FILE = "erp.sqlite"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE suppliers (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, email TEXT NOT NULL,
    country TEXT NOT NULL, lead_time_days INTEGER NOT NULL);
CREATE TABLE parts (
    id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    category TEXT NOT NULL, machine TEXT NOT NULL, unit_price REAL NOT NULL,
    unit_cost REAL NOT NULL, supplier_id INTEGER NOT NULL REFERENCES suppliers(id),
    reorder_level INTEGER NOT NULL);
CREATE TABLE stock (
    part_id INTEGER PRIMARY KEY REFERENCES parts(id), on_hand INTEGER NOT NULL,
    reserved INTEGER NOT NULL, location TEXT NOT NULL);
CREATE TABLE customers (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, email TEXT NOT NULL,
    city TEXT NOT NULL, country TEXT NOT NULL, credit_limit REAL NOT NULL);
CREATE TABLE purchase_orders (
    id INTEGER PRIMARY KEY, supplier_id INTEGER NOT NULL REFERENCES suppliers(id),
    part_id INTEGER NOT NULL REFERENCES parts(id), quantity INTEGER NOT NULL,
    unit_cost REAL NOT NULL, status TEXT NOT NULL, ordered_on TEXT NOT NULL,
    expected_on TEXT NOT NULL);
CREATE TABLE sales_orders (
    id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
    ordered_on TEXT NOT NULL, status TEXT NOT NULL, total REAL NOT NULL);
CREATE TABLE sales_order_lines (
    order_id INTEGER NOT NULL REFERENCES sales_orders(id),
    part_id INTEGER NOT NULL REFERENCES parts(id), quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY, sales_order_id INTEGER NOT NULL REFERENCES sales_orders(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id), amount REAL NOT NULL,
    issued_on TEXT NOT NULL, due_on TEXT NOT NULL, status TEXT NOT NULL, paid_on TEXT);
CREATE TABLE shipments (
    id INTEGER PRIMARY KEY, sales_order_id INTEGER NOT NULL REFERENCES sales_orders(id),
    carrier TEXT NOT NULL, tracking TEXT NOT NULL, status TEXT NOT NULL,
    shipped_on TEXT, delivered_on TEXT);
CREATE TABLE change_log (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX idx_lines_part ON sales_order_lines(part_id);
CREATE INDEX idx_orders_customer ON sales_orders(customer_id);
CREATE INDEX idx_invoices_customer ON invoices(customer_id);
"""

_PART_KINDS = [
    ("Side brush", "brushes"),
    ("Main broom", "brushes"),
    ("Scrub brush", "brushes"),
    ("Squeegee blade", "squeegees"),
    ("Squeegee assembly", "squeegees"),
    ("Vacuum motor", "motors"),
    ("Brush motor", "motors"),
    ("Drive belt", "belts"),
    ("Panel filter", "filters"),
    ("Dust filter bag", "filters"),
    ("Pad holder", "pads"),
    ("Scrubbing pad", "pads"),
    ("Battery charger", "electrical"),
    ("Traction battery", "electrical"),
    ("Drive wheel", "wheels"),
    ("Castor wheel", "wheels"),
    ("Solution hose", "hoses"),
    ("Recovery hose", "hoses"),
    ("Skirt seal", "seals"),
    ("Key switch", "electrical"),
]
_SIZES = ["300mm", "400mm", "500mm", "650mm", "heavy duty", "standard"]
_VOLTAGES = ["12V", "24V", "36V", "heavy duty"]
_MACHINES = ["Karcher KM 75", "Nilfisk SW900", "Tennant S16", "Hako Jonas 900", "Numatic TTB"]
_COMPANY_A = [
    "Acme",
    "Bright",
    "Crystal",
    "Delta",
    "Evergreen",
    "Fairway",
    "Granite",
    "Harbour",
    "Ironbridge",
    "Juniper",
    "Kestrel",
    "Lakeside",
    "Meridian",
    "Northgate",
    "Oakfield",
]
_COMPANY_B = ["Cleaning", "Facilities", "Floorcare", "Services", "Hygiene", "Maintenance"]
_SUPPLIERS = [
    ("Brushworks GmbH", "Germany", 14),
    ("Nordic Motor Supply", "Sweden", 21),
    ("FilterTech Ltd", "United Kingdom", 7),
    ("Rubber & Seal Co", "Netherlands", 10),
    ("PowerCell Batteries", "Poland", 18),
    ("Wheelhouse Industrial", "Italy", 12),
    ("Hoseline Europe", "Belgium", 9),
    ("Sparkline Electrics", "France", 15),
    ("PadPro Supplies", "Spain", 11),
    ("BeltDrive Components", "Czechia", 16),
    ("Squeegee Masters", "Denmark", 8),
    ("Castor & Co", "Ireland", 6),
]
_CITIES = [
    ("Leeds", "United Kingdom"),
    ("Manchester", "United Kingdom"),
    ("Dublin", "Ireland"),
    ("Bristol", "United Kingdom"),
    ("Rotterdam", "Netherlands"),
    ("Hamburg", "Germany"),
    ("Glasgow", "United Kingdom"),
    ("Cork", "Ireland"),
]
_CARRIERS = ["DPD", "UPS", "DHL", "Royal Mail", "FedEx"]


def erp_path(data_dir: Path) -> Path:
    """Where the demo ERP database of ``data_dir`` lives."""
    return Path(data_dir) / ERP_FILE


def connect(data_dir: Path) -> sqlite3.Connection:
    """Open the demo ERP, creating and seeding it first when it does not exist."""
    path = erp_path(data_dir)
    if not path.exists():
        create_demo_erp(data_dir)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def create_demo_erp(data_dir: Path, *, overwrite: bool = False) -> Path:
    """Create and seed the demo ERP atomically; return its path.

    Each caller seeds its own uniquely named temp file, then publishes it in one step: a hard
    link that fails if another thread or process published first (whose copy is then kept, so
    no open connection ever sees its file swapped), or a rename when ``overwrite`` is set.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = erp_path(data_dir)
    if path.exists() and not overwrite:
        return path
    fd, name = tempfile.mkstemp(dir=data_dir, prefix=f".{ERP_FILE}.", suffix=".tmp")
    os.close(fd)  # mkstemp creates it 0o600
    tmp = Path(name)
    try:
        with closing(sqlite3.connect(tmp)) as conn:
            conn.executescript(SCHEMA)
            _seed(conn, random.Random(SEED))
            conn.commit()
        if overwrite:
            os.replace(tmp, path)
        else:
            _publish_once(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _publish_once(tmp: Path, path: Path) -> None:
    """Make ``tmp`` appear at ``path`` unless something is already there."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another creator won; its database is identical
    except OSError:  # a file system without hard links
        if not path.exists():
            os.replace(tmp, path)


def _day(d: date) -> str:
    return d.isoformat()


def _seed(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.execute("INSERT INTO meta VALUES ('as_of', ?)", (_day(AS_OF),))
    conn.execute("INSERT INTO meta VALUES ('seed', ?)", (str(SEED),))
    for i, (name, country, lead) in enumerate(_SUPPLIERS, start=1):
        email = "orders@" + "".join(ch for ch in name.lower() if ch.isalnum())[:14] + ".example"
        conn.execute("INSERT INTO suppliers VALUES (?,?,?,?,?)", (i, name, email, country, lead))

    parts: list[tuple[int, float]] = []
    pid = 0
    for kind, category in _PART_KINDS:
        sizes = _VOLTAGES if category in ("motors", "electrical") else _SIZES
        for size in rng.sample(sizes, 3):
            for machine in rng.sample(_MACHINES, 2):
                pid += 1
                cost = round(rng.uniform(4, 180), 2)
                price = round(cost * rng.uniform(1.35, 1.9), 2)
                supplier = 1 + (hash_index(category) % len(_SUPPLIERS))
                if rng.random() < 0.3:
                    supplier = rng.randint(1, len(_SUPPLIERS))
                conn.execute(
                    "INSERT INTO parts VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        pid,
                        f"SP-{1000 + pid}",
                        f"{kind} {size}",
                        category,
                        machine,
                        price,
                        cost,
                        supplier,
                        rng.choice([5, 10, 15, 20]),
                    ),
                )
                on_hand = rng.choice([0, 2, 4, 8, 12, 20, 35, 60, 90])
                conn.execute(
                    "INSERT INTO stock VALUES (?,?,?,?)",
                    (
                        pid,
                        on_hand,
                        min(on_hand, rng.choice([0, 0, 1, 2, 5])),
                        f"Aisle {rng.randint(1, 12)}-{rng.choice('ABCD')}",
                    ),
                )
                parts.append((pid, price))

    customers = []
    names = [f"{a} {b}" for a in _COMPANY_A for b in _COMPANY_B]
    for cid, name in enumerate(rng.sample(names, 60), start=1):
        city, country = rng.choice(_CITIES)
        email = "accounts@" + name.lower().replace(" ", "") + ".example"
        conn.execute(
            "INSERT INTO customers VALUES (?,?,?,?,?,?)",
            (cid, name, email, city, country, rng.choice([2000, 5000, 10000, 25000])),
        )
        customers.append(cid)

    for po in range(1, 121):
        part_id, _ = rng.choice(parts)
        cur = conn.execute("SELECT supplier_id, unit_cost FROM parts WHERE id=?", (part_id,))
        sup, cost = cur.fetchone()
        ordered = AS_OF - timedelta(days=rng.randint(0, 150))
        status = (
            "received"
            if ordered < AS_OF - timedelta(days=30)
            else rng.choice(["open", "open", "received", "cancelled"])
        )
        conn.execute(
            "INSERT INTO purchase_orders VALUES (?,?,?,?,?,?,?,?)",
            (
                po,
                sup,
                part_id,
                rng.choice([10, 20, 25, 50, 100]),
                cost,
                status,
                _day(ordered),
                _day(ordered + timedelta(days=rng.randint(6, 21))),
            ),
        )

    invoice_id, shipment_id = 1000, 500
    for so in range(1, 401):
        cid = rng.choice(customers)
        ordered = AS_OF - timedelta(days=rng.randint(0, 180))
        age = (AS_OF - ordered).days
        if age > 14:
            status = rng.choice(["delivered"] * 8 + ["cancelled"])
        elif age > 3:
            status = rng.choice(["shipped", "delivered", "pending"])
        else:
            status = "pending"
        total = 0.0
        for part_id, price in rng.sample(parts, rng.randint(1, 4)):
            qty = rng.randint(1, 6)
            conn.execute(
                "INSERT INTO sales_order_lines VALUES (?,?,?,?)", (so, part_id, qty, price)
            )
            total += qty * price
        total = round(total, 2)
        conn.execute(
            "INSERT INTO sales_orders VALUES (?,?,?,?,?)", (so, cid, _day(ordered), status, total)
        )
        if status in ("shipped", "delivered"):
            shipment_id += 1
            shipped = ordered + timedelta(days=rng.randint(1, 3))
            delivered = (
                shipped + timedelta(days=rng.randint(1, 5)) if status == "delivered" else None
            )
            _insert_shipment(
                conn,
                rng,
                (shipment_id, so),
                "delivered" if delivered else "in_transit",
                _day(shipped),
                _day(delivered) if delivered else None,
            )
            invoice_id += 1
            due = shipped + timedelta(days=30)
            paid = (due < AS_OF and rng.random() < 0.8) or rng.random() < 0.3
            paid_on = (
                _day(min(AS_OF, shipped + timedelta(days=rng.randint(5, 40)))) if paid else None
            )
            conn.execute(
                "INSERT INTO invoices VALUES (?,?,?,?,?,?,?,?)",
                (
                    invoice_id,
                    so,
                    cid,
                    total,
                    _day(shipped),
                    _day(due),
                    "paid" if paid else "unpaid",
                    paid_on,
                ),
            )
        elif status == "pending" and rng.random() < 0.5:
            shipment_id += 1
            _insert_shipment(conn, rng, (shipment_id, so), "preparing", None, None)


def _insert_shipment(
    conn: sqlite3.Connection,
    rng: random.Random,
    ids: tuple[int, int],
    status: str,
    shipped: str | None,
    delivered: str | None,
) -> None:
    """One seeded shipment (``ids``: shipment id, sales order) with a random carrier and
    tracking number."""
    carrier = rng.choice(_CARRIERS)
    tracking = f"TRK{rng.randint(10**8, 10**9 - 1)}"
    conn.execute(
        "INSERT INTO shipments VALUES (?,?,?,?,?,?,?)",
        (*ids, carrier, tracking, status, shipped, delivered),
    )


def hash_index(text: str) -> int:
    """A stable small hash of ``text`` (Python's ``hash`` is salted per process)."""
    return sum((i + 1) * ord(ch) for i, ch in enumerate(text))


def as_of(conn: sqlite3.Connection) -> date:
    """The demo's reference date stored in the database."""
    row = conn.execute("SELECT value FROM meta WHERE key='as_of'").fetchone()
    return date.fromisoformat(row[0]) if row else AS_OF
