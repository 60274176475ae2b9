"""Shadow mode: a candidate and a baseline revision on the same inputs, compared run by run."""
