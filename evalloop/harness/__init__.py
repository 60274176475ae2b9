"""Run fixtures through the agent against a mocked toolbox."""
