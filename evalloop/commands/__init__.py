"""One module per command; each exposes a function the CLI calls and returns an exit code."""
