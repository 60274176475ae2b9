"""Report: the gate's result as text, markdown, JSON and JUnit."""
