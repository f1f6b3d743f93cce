"""Nova's packaged acceptance set: the check every kept change must pass."""

from __future__ import annotations

from importlib import resources

import yaml

from nova_graph.improve.labelled import LabelledRequest, parse_labelled

ACCEPTANCE_SET = "acceptance.yaml"
"""Nova's packaged acceptance set (``nova_graph/data``), versioned with the roster."""


def packaged_acceptance_set() -> list[LabelledRequest]:
    """Nova's packaged acceptance set as labelled requests (works from any folder)."""
    text = resources.files("nova_graph.data").joinpath(ACCEPTANCE_SET).read_text("utf-8")
    return parse_labelled(yaml.safe_load(text), where=f"nova_graph/data/{ACCEPTANCE_SET}")
