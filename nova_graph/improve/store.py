"""Versions of the routing setup: every accepted change is stored with its diff and scores,
and any version can be made active again (rollback).

Layout under ``<data dir>/improve/``:
``versions/vNNNN/{roster.yaml,settings.json,overlay.json,meta.json}`` (``overlay.json``: the
examples kept on top of the router; a version stored without one has none), ``ACTIVE`` (the
active version id) and ``history.jsonl`` (commits and rollbacks).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from nova_graph.errors import ImprovementError
from nova_graph.improve.setup import RoutingSetup, roster_to_yaml
from nova_graph.private import private_dir
from nova_graph.roster import Roster, load_roster
from nova_graph.routing.overlay import ExampleOverlay

IMPROVE_DIR = "improve"
OVERLAY_FILE = "overlay.json"
_VERSION_RE = re.compile(r"^v\d{4,}$")


class VersionMeta(BaseModel):
    """What one stored version is: its parent, the change, and held-out scores around it."""

    version: str
    parent: str | None
    created_at: datetime
    change: str = Field(description="One-line summary of the accepted change.")
    proposal: dict[str, Any] | None = None
    diff: str = ""
    score_before: float | None = None
    score_after: float | None = None
    agent_scores_before: dict[str, float] = Field(default_factory=dict)
    agent_scores_after: dict[str, float] = Field(default_factory=dict)


STORED_FILES = ("roster.yaml", "settings.json", OVERLAY_FILE)
"""The files of a setup in a version's folder, in :func:`setup_text`'s order."""


def setup_text(setup: RoutingSetup) -> tuple[str, str, str]:
    """The three stored files of a setup: roster YAML, settings JSON and overlay JSON."""
    return (
        roster_to_yaml(setup.roster),
        json.dumps(setup.settings, indent=2, sort_keys=True) + "\n",
        setup.overlay.model_dump_json(indent=2) + "\n",
    )


class VersionStore:
    """Stored versions of a :class:`RoutingSetup` with an active pointer."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        if data_dir is None:
            from nova_graph.settings import default_data_dir

            data_dir = default_data_dir()
        self.root = Path(data_dir) / IMPROVE_DIR
        self.versions_dir = self.root / "versions"

    # -- reading ------------------------------------------------------------------------------
    def versions(self) -> list[VersionMeta]:
        """Every stored version, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        return [
            self.meta(p.name)
            for p in sorted(self.versions_dir.iterdir())
            if _VERSION_RE.match(p.name) and (p / "meta.json").is_file()
        ]

    def meta(self, version: str) -> VersionMeta:
        """The metadata of ``version``."""
        path = self._dir(version) / "meta.json"
        try:
            return VersionMeta.model_validate_json(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ImprovementError(f"version {version} is unreadable ({exc})") from None

    def active(self) -> str | None:
        """The active version id, or ``None`` when no version was ever stored."""
        path = self.root / "ACTIVE"
        if not path.is_file():
            return None
        return path.read_text("utf-8").strip() or None

    def load(self, version: str) -> RoutingSetup:
        """The setup stored as ``version``."""
        d = self._dir(version)
        roster = load_roster(d / "roster.yaml")
        settings = json.loads((d / "settings.json").read_text("utf-8"))
        return RoutingSetup(roster, settings, self.overlay(version))

    def overlay(self, version: str) -> ExampleOverlay:
        """The examples ``version`` keeps on top of its router (none for a version stored
        without an overlay file)."""
        path = self._dir(version) / OVERLAY_FILE
        if not path.is_file():
            return ExampleOverlay()
        try:
            return ExampleOverlay.model_validate_json(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ImprovementError(f"version {version} is unreadable ({exc})") from None

    def settings(self, version: str) -> dict[str, Any]:
        """The router settings stored with ``version`` (without parsing its roster)."""
        try:
            data = json.loads((self._dir(version) / "settings.json").read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ImprovementError(f"version {version} is unreadable ({exc})") from None
        return dict(data) if isinstance(data, dict) else {}

    def active_setup(self, default: RoutingSetup) -> RoutingSetup:
        """The active version's setup, or ``default`` when there is none."""
        version = self.active()
        return self.load(version) if version else default

    def _dir(self, version: str) -> Path:
        if not isinstance(version, str) or not _VERSION_RE.match(version):
            raise ImprovementError(
                f"{version!r} is not a version id; version ids look like v0003 "
                "(see `nova improve --list`)"
            )
        d = self.versions_dir / version
        if not d.is_dir():
            known = ", ".join(m.version for m in self.versions()) or "none yet"
            raise ImprovementError(f"no version {version} (stored versions: {known})")
        return d

    # -- writing ------------------------------------------------------------------------------
    def ensure_base(self, setup: RoutingSetup) -> str:
        """Store ``setup`` as the first version (``v0000``) if nothing is stored yet."""
        active = self.active()
        if active is not None:
            return active
        return self._write(setup, parent=None, change="base version (before any improvement)")

    def commit(
        self,
        setup: RoutingSetup,
        *,
        change: str,
        proposal: dict[str, Any] | None = None,
        score_before: float | None = None,
        score_after: float | None = None,
        agent_scores_before: dict[str, float] | None = None,
        agent_scores_after: dict[str, float] | None = None,
    ) -> VersionMeta:
        """Store ``setup`` as a new version (child of the active one) and make it active."""
        parent = self.active()
        version = self._write(
            setup,
            parent=parent,
            change=change,
            proposal=proposal,
            score_before=score_before,
            score_after=score_after,
            agent_scores_before=agent_scores_before or {},
            agent_scores_after=agent_scores_after or {},
        )
        return self.meta(version)

    def rollback(self, version: str) -> VersionMeta:
        """Make ``version`` the active one again (later versions stay stored)."""
        meta = self.meta(version)
        self.load(version)  # refuse to activate a version that does not load
        previous = self.active()
        self._set_active(version)
        self._log({"event": "rollback", "version": version, "from": previous})
        return meta

    def _write(self, setup: RoutingSetup, *, parent: str | None, change: str, **scores: Any) -> str:
        private_dir(self.versions_dir)
        existing = [int(m.version[1:]) for m in self.versions()]
        version = f"v{(max(existing) + 1) if existing else 0:04d}"
        files = dict(zip(STORED_FILES, setup_text(setup), strict=True))
        diff = ""
        if parent is not None:
            old = self._dir(parent)
            for name, text in files.items():
                before = (old / name).read_text("utf-8") if (old / name).is_file() else ""
                diff += "".join(
                    difflib.unified_diff(
                        before.splitlines(True),
                        text.splitlines(True),
                        f"{parent}/{name}",
                        f"{version}/{name}",
                    )
                )
        meta = VersionMeta(
            version=version,
            parent=parent,
            created_at=datetime.now(UTC),
            change=change,
            diff=diff,
            **scores,
        )
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.versions_dir))
        try:
            for name, text in files.items():
                (tmp / name).write_text(text, "utf-8")
            (tmp / "meta.json").write_text(meta.model_dump_json(indent=2), "utf-8")
            os.replace(tmp, self.versions_dir / version)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ImprovementError(f"cannot store version {version}: {exc}") from None
        self._set_active(version)
        self._log({"event": "commit", "version": version, "parent": parent, "change": change})
        return version

    def _set_active(self, version: str) -> None:
        tmp = self.root / "ACTIVE.tmp"
        tmp.write_text(version + "\n", "utf-8")
        os.replace(tmp, self.root / "ACTIVE")

    def record(self, event: dict[str, Any]) -> None:
        """Append ``event`` (a decision, an automatic run) to the history, with the time."""
        self._log(event)

    def history(self, event: str | None = None) -> list[dict[str, Any]]:
        """The history's events, oldest first (only those of type ``event`` when given)."""
        path = self.root / "history.jsonl"
        if not path.is_file():
            return []
        out = []
        for line in path.read_text("utf-8").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: the rest of the history still counts
            if isinstance(item, dict) and (event is None or item.get("event") == event):
                out.append(item)
        return out

    def last_auto_marks(self) -> dict[str, int]:
        """The run-log high-water marks of the last automatic run that ran (none: zeros)."""
        for item in reversed(self.history("auto")):
            if item.get("ran"):
                return {k: int(item.get(k, 0)) for k in ("signals", "feedback")}
        return {"signals": 0, "feedback": 0}

    def _log(self, event: dict[str, Any]) -> None:
        event = {"at": datetime.now(UTC).isoformat(), **event}
        private_dir(self.root)
        with (self.root / "history.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")


def active_roster(default: Roster, data_dir: str | Path | None = None) -> Roster:
    """The roster of the active improved version, or ``default`` when there is none."""
    store = VersionStore(data_dir)
    version = store.active()
    if version is None:
        return default
    return store.load(version).roster


def improved_setup(data_dir: str | Path | None = None) -> RoutingSetup | None:
    """The active improved version's setup, or ``None`` when the packaged roster is in use
    (no version stored, or the active one is the first version's roster with no pinned
    settings and no overlay, as after ``nova improve --rollback v0000``): then the caller
    builds exactly the packaged router, from the same cache."""
    store = VersionStore(data_dir)
    version = store.active()
    if version is None:
        return None
    first = store.versions()[0].version  # v0000: the packaged roster the loop started from
    if version == first and not store.settings(version) and store.overlay(version).empty:
        return None  # rolled back to the base itself: nothing to parse or compare
    setup = store.load(version)
    if (
        not setup.settings
        and setup.overlay.empty
        and setup_text(setup) == setup_text(store.load(first))
    ):
        return None
    return setup
