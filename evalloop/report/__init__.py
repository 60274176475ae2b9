"""Report: the gate's result as text, markdown, JSON and JUnit, and what of it fits where GitHub shows it."""
