"""Run fixtures through the agent against a mocked toolbox; the runs, never verdicts (see `evalloop.gate.execute`)."""
