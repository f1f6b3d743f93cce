"""The app is built on the library's public API: no private names, no imports the other way."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _private_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nova_graph"):
            parts = [*(node.module or "").split("."), *(a.name for a in node.names)]
            found += [f"{path.name}:{node.lineno} {p}" for p in parts if p.startswith("_")]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("nova_graph") and any(
                    p.startswith("_") for p in alias.name.split(".")
                ):
                    found.append(f"{path.name}:{node.lineno} {alias.name}")
    return found


def test_the_app_uses_no_private_name_of_the_library() -> None:
    uses = [u for p in sorted((ROOT / "nova_app").rglob("*.py")) for u in _private_uses(p)]
    assert uses == []


def test_evals_and_benchmarks_use_no_private_name_of_the_library() -> None:
    dirs = (ROOT / "evals", ROOT / "benchmarks")
    uses = [u for d in dirs for p in sorted(d.rglob("*.py")) for u in _private_uses(p)]
    assert uses == []


def test_the_library_never_imports_the_app() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "nova_graph").rglob("*.py"))
        if "nova_app" in p.read_text("utf-8")
        and any(
            (isinstance(n, ast.ImportFrom) and (n.module or "").startswith("nova_app"))
            or (isinstance(n, ast.Import) and any(a.name.startswith("nova_app") for a in n.names))
            for n in ast.walk(ast.parse(p.read_text("utf-8")))
        )
    ]
    assert offenders == []
