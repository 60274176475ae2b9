"""Production intake: signals and their triage, fixtures captured from traces, and the fixture lifecycle."""
