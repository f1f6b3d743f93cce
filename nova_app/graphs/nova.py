"""The Nova graph as served by LangGraph Studio / the LangGraph server (``langgraph.json``).

Configured from ``NOVA_*`` settings; the server supplies the checkpointer, so none is built here.
"""

from nova_app import nova_graph_from_settings

graph = nova_graph_from_settings(checkpointer=False)
