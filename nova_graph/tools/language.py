"""Language tools that need no model: counting and structure extraction."""

from __future__ import annotations

import re

from langchain_core.tools import BaseTool, tool

from nova_graph.tools.context import ToolContext

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*\S)\s*$")


def make_tools(ctx: ToolContext) -> list[BaseTool]:
    """The language family's model-free tools."""

    @tool
    def word_count(text: str) -> str:
        """Count words, characters and sentences in a text."""
        words = len(text.split())
        sentences = len([s for s in _SENTENCE.split(text.strip()) if s]) if text.strip() else 0
        return f"{words} words, {len(text)} characters, {sentences} sentences"

    @tool
    def extract_tasks(text: str) -> str:
        """Extract a structured task list from requirements: one task per bullet or sentence."""
        lines = [m.group(1) for line in text.splitlines() if (m := _BULLET.match(line))]
        if not lines:
            lines = [s.strip().rstrip(".") for s in _SENTENCE.split(text.strip()) if s.strip()]
        if not lines:
            return "No tasks found: the text is empty."
        return "\n".join(f"{i}. [ ] {t}" for i, t in enumerate(lines, start=1))

    return [word_count, extract_tasks]
