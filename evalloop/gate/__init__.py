"""Decide: what changed, which fixtures protect it, and the verdict."""
