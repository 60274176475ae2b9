"""Contracts: the typed data every stage passes on (no I/O)."""
