"""The README's "Bring your own agents" example runs as written; the roster schema is current."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

from nova_graph.roster_schema import SCHEMA_PATH, roster_schema_text

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_bring_your_own_agents_example_runs_offline_as_written(tmp_path: Path) -> None:
    code = re.findall(r"```python\n(.*?)```", _section("Bring your own agents"), re.S)[0]
    assert len(code.splitlines()) <= 30
    script = tmp_path / "example.py"
    script.write_text(code, "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "logged 12.50" in done.stdout  # the plain function tool
    assert "multiply every ingredient by 3" in done.stdout  # the MCP server's tool
    assert "Workout logged, well done!" in done.stdout  # the compiled graph


def test_the_packaged_roster_schema_is_generated_from_the_models() -> None:
    assert SCHEMA_PATH.read_text("utf-8") == roster_schema_text()


def test_the_readme_roster_file_example_and_nova_roster_match_the_schema() -> None:
    schema = yaml.safe_load(SCHEMA_PATH.read_text("utf-8"))
    example = re.findall(r"```yaml\n(.*?)```", _section("Bring your own agents"), re.S)[0]
    jsonschema.validate(yaml.safe_load(example), schema)
    jsonschema.validate(yaml.safe_load((ROOT / "nova_app/data/roster.yaml").read_text()), schema)
