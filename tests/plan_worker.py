"""A separate process for the plan tests: start a plan that pauses for approval, or resume it.

``python -m tests.plan_worker start DB DATA`` runs "check stock of brush heads and raise a purchase
order for any that are low" on a SQLite checkpoint until the first approval pause;
``... resume DB DATA`` continues the same thread in a new process, approving every purchase order,
and prints JSON: the plan, its status, each agent's inputs, the nodes that ran in this process and
the purchase orders in the ERP database.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from langgraph.types import Command

from nova_app import build_nova_graph
from nova_graph.checkpoint import sqlite_checkpointer
from nova_graph.models import OfflineChatModel
from nova_graph.routing.decision import ClauseRoute, RouteDecision
from nova_graph.testing import TableRouter

REQUEST = "check stock of brush heads and raise a purchase order for any that are low"
CONFIG = {"configurable": {"thread_id": "plan-approval"}}
# The routes the default router gives (tests/test_plans.py checks them); fixed here so the two
# processes start in a second instead of loading the embedding router.
ROUTER = TableRouter(
    {
        REQUEST: RouteDecision(
            agents=["erp_inventory", "erp_purchasing"],
            clauses=[
                ClauseRoute(text="check stock of brush heads", agent="erp_inventory", score=1),
                ClauseRoute(
                    text="raise a purchase order for any that are low",
                    agent="erp_purchasing",
                    score=1,
                ),
            ],
        )
    }
)


def main(mode: str, db: str, data: str) -> None:
    graph = build_nova_graph(
        checkpointer=sqlite_checkpointer(Path(db)),
        model=OfflineChatModel(),
        data_dir=data,
        router=ROUTER,
    )
    payload: object = {"messages": [("user", REQUEST)]} if mode == "start" else Command(resume=True)
    ran: list[str] = []
    pauses = 0
    while True:
        paused = False
        for chunk in graph.stream(payload, CONFIG, stream_mode="updates"):  # type: ignore[arg-type]
            for node in chunk:
                if node == "__interrupt__":
                    paused = True
                else:
                    ran.append(node)
        if not paused or mode == "start":
            break
        pauses += 1
        payload = Command(resume=True)
    state = graph.get_state(CONFIG).values  # type: ignore[arg-type]
    with sqlite3.connect(Path(data) / "erp.sqlite") as conn:
        orders = conn.execute(
            "SELECT p.sku FROM purchase_orders po JOIN parts p ON p.id=po.part_id "
            "WHERE po.status='open' ORDER BY po.id"
        ).fetchall()
    print(
        json.dumps(
            {
                "ran": ran,
                "pauses": pauses,
                "paused": paused,
                "plan": state.get("plan"),
                "plan_status": state.get("plan_status"),
                "inputs": {a: r.get("inputs") for a, r in (state.get("results") or {}).items()},
                "orders": [o[0] for o in orders],
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
