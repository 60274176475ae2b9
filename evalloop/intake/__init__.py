"""Production signals in, triage decisions out (`evalloop triage`): which signals become blocking,
warning or exploratory evals, which stay trace evidence, and which go to UX or docs first.

`signals` loads the records with positions, `evidence` checks the traces they point at,
`table` holds the built-in triage table, `triage` decides, `render` shows the decisions.
"""
