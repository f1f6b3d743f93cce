"""Only the language agents, for inspecting that area in LangGraph Studio."""

from nova_graph.factory import family_graph

graph = family_graph("language", checkpointer=False)
