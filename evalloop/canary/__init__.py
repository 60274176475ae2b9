"""Canary analysis: compare a candidate with its baseline on production invariants and metrics, and decide."""
