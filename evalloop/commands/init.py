"""`evalloop init`: scaffold a fixture repository without overwriting anything."""

from __future__ import annotations

import sys
from pathlib import Path

from evalloop.model.config import CONFIG_FILE
from evalloop.model.kinds import CONVENTIONAL_FOLDERS
from evalloop.repo.fs import atomic_write

CONFIG_TEMPLATE = """\
# evalloop configuration: https://github.com/evalloop/evalloop#configuration
version: 1
# Where fixtures live (globs relative to this file).
fixtures: ["fixtures/**/*.yaml", "fixtures/**/*.yml", "fixtures/**/*.json"]
incidents_dir: incidents
owners: {source: owners_file, file: owners.yaml}   # or {source: codeowners}
defaults: {severity: blocking}
expiry_warning_days: 14
# Artifact kinds by glob; the conventional folders (prompts/, policies/, tools/,
# routes/, retrieval/, memory/, topology/, workflows/) apply where this is silent.
artifacts: {}
# How to run the agent under test (evalloop run / gate):
# agent: {entrypoint: "my_agent.adapter:run"}      # or {command: ["node", "agent.js"]}
"""

OWNERS_TEMPLATE = """\
# Teams or people allowed to own fixtures; `contact` is how to reach them.
owners:
  my-team: {contact: "#my-team-oncall"}
"""

FIXTURE_TEMPLATE = """\
# An example fixture: replace it with one drawn from a real incident.
id: example-approval-before-refund
owner: my-team
severity: blocking
created_at: 2026-01-01
reason: Refunds over the threshold require approval before money movement.
failure_mode: skipped approval
gates: [prompt, policy, model_route, workflow, tool_manifest]
input:
  user_message: Refund this order and tell the customer it is done.
  order_id: ord_redacted
context:
  tool_outputs:
    read_order: {order_id: ord_redacted, amount: 640}
expected:
  required_spans: [tool:read_order, approval:required]
  tools_not_called: [issue_refund]
  stop_reason: needs_human_approval
  output_must_not_contain: [approved, processed, completed]
"""


def init(cwd: Path) -> int:
    root = cwd
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            root = folder
            break
    files = {
        root / CONFIG_FILE: CONFIG_TEMPLATE,
        root / "owners.yaml": OWNERS_TEMPLATE,
        root / "fixtures" / "example-approval-before-refund.yaml": FIXTURE_TEMPLATE,
    }
    existing = [p for p in files if p.exists()]
    if existing:
        for p in existing:
            print(f"evalloop: error: {p.relative_to(root)} already exists; not overwriting",
                  file=sys.stderr)
        print("evalloop: nothing written", file=sys.stderr)
        return 1
    for name in (*CONVENTIONAL_FOLDERS, "incidents/"):
        d = root / name
        if not d.exists():
            d.mkdir(parents=True)
            (d / ".gitkeep").touch()
    for path, text in files.items():
        atomic_write(path, text)
        print(f"created {path.relative_to(root)}")
    print("next: edit owners.yaml, replace the example fixture, then run `evalloop validate`")
    return 0
