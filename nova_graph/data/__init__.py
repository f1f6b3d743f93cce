"""Library data: the fitted conversation rules (``conversation_model.json``)."""
