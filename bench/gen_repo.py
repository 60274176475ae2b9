"""Generate a large synthetic fixture repository for benchmarks.

    python bench/gen_repo.py OUT_DIR --fixtures 5000 [--json-share 0.2] [--seed 1]

Fixtures are realistic in size and shape (the YAML fixture form, ~1.5-3 KB),
spread over nested folders, with owners.yaml, evalloop.yaml and incident records.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

TOOLS = ["read_order", "draft_refund_request", "issue_refund", "send_customer_email",
         "lookup_customer", "search_kb", "create_ticket", "update_address", "cancel_order"]
ROUTES = ["refund_assist", "billing", "shipping", "account", "general"]
TEAMS = [f"team-{i}" for i in range(20)]
KINDS = ["prompt", "policy", "model_route", "workflow", "tool_manifest", "retrieval_index",
         "memory_rule", "agent_topology"]


def fixture(i: int, rng: random.Random) -> dict[str, object]:
    tools = rng.sample(TOOLS, 4)
    route = rng.choice(ROUTES)
    return {
        "id": f"fx-{i:06d}-{route}",
        "incident_id": f"INC-{i % 400:04d}",
        "owner": rng.choice(TEAMS),
        "severity": rng.choice(["blocking", "warning", "exploratory"]),
        "created_at": "2026-04-18",
        "expires_at": "2027-10-18",
        "reason": "Refunds over the threshold require approval before money movement.",
        "failure_mode": rng.choice(["skipped approval", "stale evidence", "early write"]),
        "gates": rng.sample(KINDS, 3),
        "scope": {"routes": [route]},
        "input": {"user_message": f"Please handle order ord_{i} and tell the customer it is done.",
                  "order_id": f"ord_{i}"},
        "context": {
            "policy_version": "refund-policy-2026-04",
            "customer_status": rng.choice(["standard", "gold"]),
            "tool_outputs": {t: {"ok": True, "order_id": f"ord_{i}", "amount": rng.randint(1, 2000),
                                 "notes": "synthetic record for the benchmark"} for t in tools[:3]},
        },
        "expected": {
            "route": route,
            "required_spans": [f"tool:{tools[0]}", "policy:refund_threshold", "approval:required"],
            "forbidden_spans": [f"tool:{tools[3]}", "message:customer_promise_sent"],
            "order": [["approval:required", f"tool:{tools[1]}"]],
            "tools_called": tools[:2],
            "tools_not_called": [tools[3]],
            "tool_args": {tools[1]: {"order_id": f"ord_{i}"}},
            "stop_reason": "needs_human_approval",
            "final_status": "needs_human",
            "output_must_not_contain": ["approved", "processed", "completed"],
            "budget": {"max_tool_calls": 8, "max_retries": 1, "max_cost_usd": 0.05,
                       "max_latency_ms": 20000},
        },
    }


def to_yaml(data: dict[str, object]) -> str:
    import yaml

    return "# generated fixture\n" + yaml.safe_dump(data, sort_keys=False, width=100)


def generate(out: Path, n: int, json_share: float, seed: int) -> list[Path]:
    rng = random.Random(seed)
    (out / "fixtures").mkdir(parents=True, exist_ok=True)
    (out / "incidents").mkdir(exist_ok=True)
    (out / "owners.yaml").write_text(
        "owners:\n" + "".join(f"  {t}: {{contact: '#{t}'}}\n" for t in TEAMS))
    (out / "evalloop.yaml").write_text("version: 1\n")
    for k in range(400):
        (out / "incidents" / f"INC-{k:04d}.yaml").write_text(
            f"id: INC-{k:04d}\nseverity: sev2\nopened_at: 2026-04-18\nsignal: near_miss\n"
            f"summary: synthetic incident {k}\nowner: team-{k % 20}\n")
    paths = []
    for i in range(n):
        data = fixture(i, rng)
        folder = out / "fixtures" / f"area-{i % 25:02d}"
        folder.mkdir(exist_ok=True)
        if rng.random() < json_share:
            p = folder / f"{data['id']}.json"
            p.write_text(json.dumps(data, indent=2))
        else:
            p = folder / f"{data['id']}.yaml"
            p.write_text(to_yaml(data))
        paths.append(p)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--fixtures", type=int, default=5000)
    ap.add_argument("--json-share", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    paths = generate(args.out, args.fixtures, args.json_share, args.seed)
    print(f"{len(paths)} fixtures in {args.out}")


if __name__ == "__main__":
    main()
