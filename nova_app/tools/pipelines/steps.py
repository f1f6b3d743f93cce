"""The allow-list of pipeline steps: small Python functions doing real work under ``data_dir``.

A pipeline file can only name functions in :data:`STEPS`; nothing from a request is ever run as
code or shell text. A step returns a one-line summary, or raises :class:`StepFailed`.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from nova_app.tools import erp_db


class StepFailed(Exception):
    """A step found a problem it cannot get past; the message says what to fix."""


@dataclass
class StepRun:
    """What a step gets: where data lives, its pipeline's workspace, its params, a log."""

    data_dir: Path
    workspace: Path
    params: dict[str, Any]
    run_id: int
    lines: list[str] = field(default_factory=list)

    def log(self, message: str) -> None:
        """Append a line to this step's log."""
        self.lines.append(message)


Step = Callable[[StepRun], str]

# --- data import -------------------------------------------------------------------------------


def _demo_feed(data_dir: Path, path: Path) -> None:
    """Write the supplier's stock feed: counts for every tenth part, from the ERP itself."""
    conn = erp_db.connect(data_dir)
    try:
        rows = conn.execute(
            "SELECT p.sku, s.on_hand FROM parts p JOIN stock s ON s.part_id=p.id "
            "WHERE p.id % 10 = 0 ORDER BY p.id"
        ).fetchall()
    finally:
        conn.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["sku", "on_hand"])
        for sku, on_hand in rows:
            out.writerow([sku, on_hand + 10])


def inbox_file(data_dir: Path, name: str) -> Path:
    """The file ``name`` in ``data_dir/inbox``; :class:`StepFailed` when the name or the path
    (a symlink, or a folder resolving elsewhere) would reach outside the inbox."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise StepFailed(f"feed name {name!r} must be a plain file name inside the inbox")
    inbox = data_dir / "inbox"
    path = inbox / name
    if inbox.is_symlink() or path.is_symlink():
        raise StepFailed(f"{path} is a symbolic link; put the feed file itself in the inbox")
    if path.exists() and not path.resolve().is_relative_to(data_dir.resolve()):
        raise StepFailed(f"{path} resolves outside the data directory; copy the file in instead")
    return path


def fetch_csv(run: StepRun) -> str:
    """Copy the feed CSV from ``data_dir/inbox`` into the workspace (demo feed if absent)."""
    source = inbox_file(run.data_dir, str(run.params.get("feed", "parts_feed.csv")))
    if not source.exists():
        _demo_feed(run.data_dir, source)
        run.log(f"no feed in the inbox; wrote the demo supplier feed to {source}")
    target = run.workspace / "feed.csv"
    shutil.copyfile(source, target)
    rows = sum(1 for _ in target.open(encoding="utf-8")) - 1
    run.log(f"fetched {source.name}: {rows} rows")
    return f"fetched {rows} rows from {source.name}"


def _whole_count(text: str) -> bool:
    """True for a whole number >= 0 written in ASCII digits only (not '٣' or '²')."""
    return text.isascii() and text.isdigit() and len(text) <= 9


def validate_rows(run: StepRun) -> str:
    """Check every feed row (known SKU, once; whole non-negative count); write the valid rows."""
    source = run.workspace / "feed.csv"
    if not source.exists():
        raise StepFailed("no feed.csv in the workspace: run fetch_csv first")
    conn = erp_db.connect(run.data_dir)
    try:
        known = {r[0] for r in conn.execute("SELECT sku FROM parts")}
    finally:
        conn.close()
    good: list[dict[str, str]] = []
    bad: list[str] = []
    first_line: dict[str, int] = {}
    with source.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"sku", "on_hand"} <= set(reader.fieldnames):
            raise StepFailed("the feed must have the columns sku,on_hand")
        for line, row in enumerate(reader, start=2):
            sku, count = (row.get("sku") or "").strip(), (row.get("on_hand") or "").strip()
            if sku not in known:
                bad.append(f"line {line}: unknown SKU {sku!r}")
            elif sku in first_line:
                bad.append(
                    f"line {line}: duplicate SKU {sku!r} (also on line {first_line[sku]}); "
                    "keep one row per SKU"
                )
            elif not _whole_count(count):
                bad.append(
                    f"line {line}: on_hand {count!r} is not a whole number >= 0 in digits 0-9"
                )
            else:
                good.append({"sku": sku, "on_hand": count})
            first_line.setdefault(sku, line)
    for problem in bad:
        run.log(problem)
    if bad:
        raise StepFailed(f"{len(bad)} invalid rows in the feed; fix them in the inbox and retry")
    (run.workspace / "validated.json").write_text(json.dumps(good), encoding="utf-8")
    run.log(f"{len(good)} rows valid")
    return f"{len(good)} rows valid"


def load_to_erp(run: StepRun) -> str:
    """Set ERP stock levels from the validated rows, in one transaction."""
    source = run.workspace / "validated.json"
    if not source.exists():
        raise StepFailed("no validated rows: run validate_rows first")
    rows = json.loads(source.read_text(encoding="utf-8"))
    conn = erp_db.connect(run.data_dir)
    try:
        with conn:
            for r in rows:
                conn.execute(
                    "UPDATE stock SET on_hand=? WHERE part_id=(SELECT id FROM parts WHERE sku=?)",
                    (int(r["on_hand"]), r["sku"]),
                )
            conn.execute(
                "INSERT INTO change_log(at, action, detail) VALUES (?,?,?)",
                (_now(), "load_to_erp", f"stock levels of {len(rows)} parts from run {run.run_id}"),
            )
    finally:
        conn.close()
    run.log(f"updated stock of {len(rows)} parts")
    return f"updated stock of {len(rows)} parts"


# --- backups -----------------------------------------------------------------------------------

_DATABASES = frozenset({"erp.sqlite", "pipelines.sqlite", "general.sqlite"})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def backup_db(run: StepRun) -> str:
    """Copy a database with SQLite's online backup into ``data_dir/backups`` (mode 0o600)."""
    name = str(run.params.get("database", "erp.sqlite"))
    if name not in _DATABASES:
        raise StepFailed(f"database {name!r} is not one of {sorted(_DATABASES)}")
    source = run.data_dir / name
    if name == "erp.sqlite":
        erp_db.create_demo_erp(run.data_dir)
    if not source.exists():
        raise StepFailed(f"{source} does not exist yet; nothing to back up")
    folder = run.data_dir / "backups"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = folder / f"{Path(name).stem}-{stamp}-run{run.run_id}.sqlite"
    fd = os.open(target, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.close(fd)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    made = run.workspace / "backups.json"
    done = json.loads(made.read_text()) if made.exists() else []
    made.write_text(json.dumps([*done, target.name]))
    run.log(f"backed up {name} to {target.name} ({target.stat().st_size} bytes)")
    return f"backed up {name} to {target.name}"


def verify_backup(run: StepRun) -> str:
    """Open each backup this run made and run SQLite's integrity check on it."""
    made = run.workspace / "backups.json"
    names = json.loads(made.read_text()) if made.exists() else []
    if not names:
        raise StepFailed("no backups were made in this run: run backup_db first")
    for name in names:
        conn = sqlite3.connect(run.data_dir / "backups" / name)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type='table'")
            count = tables.fetchone()[0]
        finally:
            conn.close()
        if result != "ok":
            raise StepFailed(f"backup {name} failed the integrity check: {result}")
        run.log(f"{name}: integrity ok, {count} tables")
    made.unlink()
    return f"verified {len(names)} backups"


def prune_backups(run: StepRun) -> str:
    """Delete the oldest backups of each database beyond ``keep``."""
    keep = int(run.params.get("keep", 10))
    folder = run.data_dir / "backups"
    removed = 0
    groups: dict[str, list[Path]] = {}
    for p in sorted(folder.glob("*.sqlite")):
        groups.setdefault(p.name.split("-")[0], []).append(p)
    for files in groups.values():
        for old in sorted(files, key=lambda p: p.stat().st_mtime)[:-keep]:
            old.unlink()
            removed += 1
    run.log(f"kept the newest {keep} per database, removed {removed}")
    return f"removed {removed} old backups"


# --- websites ----------------------------------------------------------------------------------

_DEMO_SITES: dict[str, dict[str, str]] = {
    "findasign": {
        "index.md": "# Find a Sign\nThe marketplace for custom signage.\n"
        "- [Browse listings](listings.html)\n- [About us](about.html)\n- [Pricing](pricing.html)\n",
        "listings.md": "# Listings\nShopfront signs, banners and vehicle wraps from local makers.\n"
        "[Home](index.html)\n",
        "about.md": "# About Find a Sign\nWe match sign makers with buyers.\n[Home](index.html)\n",
    },
    "harbour_bakery": {
        "index.md": "# Harbour Bakery\nFresh bread every morning.\n- [Menu](menu.html)\n"
        "- [Contact](contact.html)\n",
        "menu.md": "# Menu\n- Sourdough\n- Cinnamon buns\n[Home](index.html)\n",
        "contact.md": "# Contact\nQuay Street 4. Open 7am to 3pm.\n[Home](index.html)\n",
    },
}
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def site_dir(data_dir: Path, site: str) -> Path:
    """The folder of a client website (``src``, ``build``, ``public`` inside)."""
    if site not in _DEMO_SITES:
        raise StepFailed(f"unknown site {site!r}; known sites: {sorted(_DEMO_SITES)}")
    return data_dir / "sites" / site


def known_sites() -> list[str]:
    """The client websites the deploy pipelines know."""
    return sorted(_DEMO_SITES)


def _render(markdown: str) -> str:
    body = []
    for line in markdown.splitlines():
        text = _LINK.sub(lambda m: f'<a href="{html.escape(m[2])}">{html.escape(m[1])}</a>', line)
        if line.startswith("# "):
            body.append(f"<h1>{text[2:]}</h1>")
        elif line.startswith("- "):
            body.append(f"<li>{text[2:]}</li>")
        elif line.strip():
            body.append(f"<p>{text}</p>")
    return "<!doctype html>\n<html><body>\n" + "\n".join(body) + "\n</body></html>\n"


def _ensure_sources(run: StepRun, site: str) -> Path:
    src = site_dir(run.data_dir, site) / "src"
    if not src.exists():
        src.mkdir(parents=True)
        for name, text in _DEMO_SITES[site].items():
            (src / name).write_text(text, encoding="utf-8")
        run.log(f"created demo sources in {src}")
    return src


def build_site(run: StepRun) -> str:
    """Render the site's Markdown sources to HTML in ``build/`` (demo sources if absent)."""
    site = str(run.params.get("site", ""))
    root = site_dir(run.data_dir, site)
    src = _ensure_sources(run, site)
    build = root / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    pages = sorted(src.glob("*.md"))
    for page in pages:
        html_text = _render(page.read_text(encoding="utf-8"))
        (build / f"{page.stem}.html").write_text(html_text, encoding="utf-8")
        run.log(f"built {page.stem}.html")
    return f"built {len(pages)} pages of {site}"


def lint_pages(run: StepRun) -> str:
    """Check every source page is non-empty and starts with a '# ' title."""
    site = str(run.params.get("site", ""))
    src = _ensure_sources(run, site)
    pages = sorted(src.glob("*.md"))
    if not pages:
        raise StepFailed(f"{src} has no pages; add Markdown pages and retry")
    bad = [p.name for p in pages if not p.read_text(encoding="utf-8").startswith("# ")]
    if bad:
        raise StepFailed(f"pages without a '# ' title: {', '.join(bad)}; add titles and retry")
    run.log(f"{len(pages)} pages have titles")
    return f"{len(pages)} pages linted"


def check_links(run: StepRun) -> str:
    """Fail when a source page links to a page the site does not have (checked before building)."""
    site = str(run.params.get("site", ""))
    src = _ensure_sources(run, site)
    broken = []
    pages = sorted(src.glob("*.md"))
    for page in pages:
        for _, href in _LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in href or href.startswith(("mailto:", "#")):
                continue
            if not (src / href).with_suffix(".md").exists():
                broken.append(f"{page.name} -> {href}")
    for b in broken:
        run.log(f"broken link: {b}")
    if broken:
        missing = sorted({Path(b.split(" -> ")[1]).with_suffix(".md").name for b in broken})
        raise StepFailed(
            f"{len(broken)} broken links in {site}; add the missing pages "
            f"({', '.join(missing)}) to {src} and retry"
        )
    run.log(f"checked {len(pages)} pages: all links resolve")
    return f"all links resolve in {len(pages)} pages"


def publish_site(run: StepRun) -> str:
    """Publish ``build/`` to ``public/`` with a manifest of page hashes."""
    site = str(run.params.get("site", ""))
    root = site_dir(run.data_dir, site)
    build = root / "build"
    if not build.exists():
        raise StepFailed(f"{site} is not built: run build_site first")
    staging = root / "public.new"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(build, staging)
    manifest = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in sorted(staging.iterdir())
    }
    (staging / "manifest.json").write_text(json.dumps({"published": _now(), "pages": manifest}))
    shutil.rmtree(root / "public", ignore_errors=True)
    staging.rename(root / "public")
    run.log(f"published {len(manifest)} pages to {root / 'public'}")
    return f"published {len(manifest)} pages of {site}"


# --- tests -------------------------------------------------------------------------------------


class _SuiteResult(TypedDict):
    """One data test of a suite: how many rows break it (0 means it passed)."""

    test: str
    passed: bool
    offending_rows: int


_SUITES: dict[str, dict[str, str]] = {
    # check name -> SQL counting offending rows (0 means pass)
    "erp_integrity": {
        "stock is never negative": "SELECT COUNT(*) FROM stock WHERE on_hand < 0 OR reserved < 0",
        "reserved within on hand": "SELECT COUNT(*) FROM stock WHERE reserved > on_hand",
        "prices above cost": "SELECT COUNT(*) FROM parts WHERE unit_price < unit_cost",
        "invoices match their order total": "SELECT COUNT(*) FROM invoices i JOIN sales_orders so "
        "ON so.id=i.sales_order_id WHERE ABS(i.amount - so.total) > 0.01",
        "paid invoices have a payment date": "SELECT COUNT(*) FROM invoices "
        "WHERE status='paid' AND paid_on IS NULL",
        "shipped orders have a shipment": "SELECT COUNT(*) FROM sales_orders so WHERE "
        "so.status IN ('shipped','delivered') AND NOT EXISTS "
        "(SELECT 1 FROM shipments sh WHERE sh.sales_order_id=so.id)",
        "every part has stock record": "SELECT COUNT(*) FROM parts p WHERE NOT EXISTS "
        "(SELECT 1 FROM stock s WHERE s.part_id=p.id)",
    },
}


def run_tests(run: StepRun) -> str:
    """Run a named test suite of data checks; write a JSON report; fail when any check fails."""
    suite = str(run.params.get("suite", "erp_integrity"))
    if suite not in _SUITES:
        raise StepFailed(f"unknown test suite {suite!r}; known suites: {sorted(_SUITES)}")
    conn = erp_db.connect(run.data_dir)
    results: list[_SuiteResult] = []
    try:
        for name, sql in _SUITES[suite].items():
            bad = int(conn.execute(sql).fetchone()[0])
            results.append({"test": name, "passed": bad == 0, "offending_rows": bad})
            run.log(f"{'PASS' if bad == 0 else 'FAIL'} {name} ({bad} offending rows)")
    finally:
        conn.close()
    report = {"suite": suite, "run_id": run.run_id, "at": _now(), "results": results}
    (run.data_dir / "test_reports").mkdir(exist_ok=True)
    (run.data_dir / "test_reports" / f"{suite}.json").write_text(json.dumps(report, indent=1))
    failed = [r["test"] for r in results if not r["passed"]]
    if failed:
        raise StepFailed(f"{len(failed)} of {len(results)} tests failed: {', '.join(failed)}")
    return f"{len(results)} tests passed"


SOURCE_STEPS = frozenset({"fetch_csv"})
"""Steps that read input from outside the pipeline: a retry runs them again, so it works on the
current input (the fixed inbox file), not on the copy the failed run took."""

STEPS: dict[str, Step] = {
    "fetch_csv": fetch_csv,
    "validate_rows": validate_rows,
    "load_to_erp": load_to_erp,
    "backup_db": backup_db,
    "verify_backup": verify_backup,
    "prune_backups": prune_backups,
    "lint_pages": lint_pages,
    "build_site": build_site,
    "check_links": check_links,
    "publish_site": publish_site,
    "run_tests": run_tests,
}
"""The allow-list: the only callables a pipeline step may name."""
