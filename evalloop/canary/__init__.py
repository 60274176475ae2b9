"""Canary analysis: production runs of a candidate against the baseline -> promote, hold or roll back."""
