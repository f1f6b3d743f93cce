"""Nova's packaged acceptance set: the check every kept routing change must pass."""

from __future__ import annotations

from importlib import resources

import yaml

from nova_graph.improve.labelled import LabelledRequest, parse_labelled

ACCEPTANCE_SET = "acceptance.yaml"
"""Nova's packaged acceptance set (``nova_app/data``), versioned with the roster."""


def packaged_acceptance_set() -> list[LabelledRequest]:
    """Nova's packaged acceptance set as labelled requests (works from any folder)."""
    text = resources.files("nova_app.data").joinpath(ACCEPTANCE_SET).read_text("utf-8")
    return parse_labelled(yaml.safe_load(text), where=f"nova_app/data/{ACCEPTANCE_SET}")
