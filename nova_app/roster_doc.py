"""Generate the README roster table from the roster data file.

``python -m nova_app.roster_doc`` rewrites the section of README.md between
``<!-- roster:start -->`` and ``<!-- roster:end -->``; ``--check`` reports if it is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nova_app import nova_roster
from nova_app.tools import nova_tools
from nova_graph.errors import InvalidRequestError
from nova_graph.roster import Roster
from nova_graph.tools.approval import needs_approval

START, END = "<!-- roster:start -->", "<!-- roster:end -->"


def roster_table(roster: Roster) -> str:
    """The roster as a Markdown table: family, agent, scope, tools, and which tools change data
    (those pause for human approval; see ``nova_graph.tools.approval``)."""
    registry = {t.name: t for t in nova_tools()}
    lines = [
        f"{len(roster)} agents. Generated from `nova_app/data/roster.yaml` by "
        "`python -m nova_app.roster_doc`; do not edit by hand. Tools under *Needs approval* "
        "change data or the outside world: the run pauses until you approve each call.",
        "",
        "| Family | Agent | Scope | Tools | Needs approval |",
        "| --- | --- | --- | --- | --- |",
    ]
    for spec in roster:
        tools = ", ".join(f"`{t}`" for t in spec.tools) or "-"
        gated = [t for t in spec.tools if t in registry and needs_approval(registry[t])]
        approval = ", ".join(f"`{t}`" for t in gated) or "-"
        scope = spec.description.replace("|", "\\|")
        lines.append(f"| {spec.family} | `{spec.name}` | {scope} | {tools} | {approval} |")
    return "\n".join(lines)


def render(readme: str, roster: Roster) -> str:
    """``readme`` with its marked roster section replaced by the current table."""
    if START not in readme or END not in readme or readme.index(START) > readme.index(END):
        raise InvalidRequestError(f"README has no {START} ... {END} section; add the markers")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{roster_table(roster)}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with --check, verify) the README roster section."""
    parser = argparse.ArgumentParser(prog="python -m nova_app.roster_doc")
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--check", action="store_true", help="exit 1 if the table is stale")
    args = parser.parse_args(argv)
    path = Path(args.readme)
    old = path.read_text("utf-8")
    new = render(old, nova_roster())
    if args.check:
        if new != old:
            print(f"{path}: roster table is stale; run python -m nova_app.roster_doc")
            return 1
        return 0
    path.write_text(new, "utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
