"""evalloop: production failures of LLM agents become gated regression fixtures."""

__version__ = "0.1.0"
