"""Write the roster file format's JSON Schema: ``python -m nova_graph.roster_schema [PATH]``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nova_graph.roster import RosterFile

#: Where the packaged schema lives (next to this module).
SCHEMA_PATH = Path(__file__).with_name("roster.schema.json")


def roster_schema_text() -> str:
    """The JSON Schema of :class:`~nova_graph.roster.RosterFile`, as stable, indented JSON."""
    schema = RosterFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "nova_graph roster"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the schema to ``argv[0]`` (default: the packaged ``roster.schema.json``)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else SCHEMA_PATH
    path.write_text(roster_schema_text(), "utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
