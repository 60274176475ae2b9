"""Load: recorded traces of every supported format as normalized runs."""
