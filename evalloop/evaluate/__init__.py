"""Evaluate: one run judged against one fixture's expectations."""
