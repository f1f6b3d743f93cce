"""General-chat tools: the clock and arithmetic (memory tools come from nova_graph.memory)."""

from __future__ import annotations

import ast
import operator
from datetime import UTC, datetime

from langchain_core.tools import BaseTool, tool

from nova_graph.errors import ToolError
from nova_graph.tools.context import ToolContext

_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.Mod: operator.mod,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        if isinstance(node.op, ast.Pow) and abs(_evaluate(node.right)) > 100:
            raise ToolError("exponent too large; keep exponents within ±100")
        return float(_OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return float(_OPS[type(node.op)](_evaluate(node.operand)))
    raise ToolError("only numbers and + - * / % ** and parentheses are allowed")


def make_tools(ctx: ToolContext) -> list[BaseTool]:
    """The general-chat family's tools."""

    @tool
    def current_time() -> str:
        """Current date and time in UTC (ISO 8601); use for questions about today's date or time."""
        return datetime.now(UTC).isoformat(timespec="seconds")

    @tool
    def calculate(expression: str) -> str:
        """Calculate an arithmetic expression such as '12 * (3 + 4)' (+ - * / % ** only)."""
        expr = expression.strip()
        if "=" in expr or not expr:
            expr = expr.split("=")[0].strip()
        candidate = "".join(ch for ch in expr if ch in "0123456789.+-*/%() ")
        if not candidate.strip():
            raise ToolError(f"no arithmetic expression found in {expression!r}")
        try:
            tree = ast.parse(candidate.strip(), mode="eval")
        except SyntaxError as exc:
            raise ToolError(
                f"cannot parse {candidate.strip()!r} as arithmetic: {exc.msg}"
            ) from None
        try:
            value = _evaluate(tree)
        except ZeroDivisionError:
            raise ToolError("division by zero") from None
        return f"{candidate.strip()} = {value:g}"

    return [current_time, calculate]
