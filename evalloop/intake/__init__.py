"""Intake: production traces and incidents turned into fixture material."""
