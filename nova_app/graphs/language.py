"""Only the language agents, for inspecting that area in LangGraph Studio."""

from nova_app import nova_family_graph

graph = nova_family_graph("language", checkpointer=False)
