"""Production intake: signals, triage, capture from traces, and the fixture lifecycle."""
