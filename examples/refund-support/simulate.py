"""Production traffic for the refund example: the instrumented agent over synthetic requests.

Each request runs the real agent (`refund_agent`) through its OpenTelemetry
instrumentation (`refund_agent/telemetry.py`) against a mocked tool backend:
an in-memory order, carrier and approval service per request, answered by
evalloop's own mocked toolbox (so arguments are checked against
tools/refund.yaml as in the harness), with the occasional timeout or error a
real backend gives. The spans go out as OTLP JSON Lines, as the OpenTelemetry
Collector's file exporter writes them, for `evalloop check` and `evalloop canary`.

Everything is drawn from seeded generators: the same arguments give the same file.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import os
import random
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HOME = Path(__file__).resolve().parent
if str(HOME) not in sys.path:
    sys.path.insert(0, str(HOME))  # refund_agent, wherever this is started from

from refund_agent.agent import Artifacts  # noqa: E402

from evalloop.agent import Channel, ToolError, Tools  # noqa: E402
from evalloop.harness.manifest import ToolManifest, load_manifest  # noqa: E402
from evalloop.harness.toolbox import Reply, Toolbox  # noqa: E402
from evalloop.model.fixture import Context  # noqa: E402

VARIANTS = ("baseline", "harmless")
BYPASS_WORKFLOW = HOME / "revisions" / "bypass" / "workflows" / "refund.yaml"
HARMLESS_PROMPT = HOME / "revisions" / "harmless" / "prompts" / "refund.yaml"
DEFAULT_START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
ARRIVALS_PER_MINUTE = 6.0

REFUND_MESSAGES = (
    "Please refund my order, the item arrived broken.",
    "I want a refund for this order.",
    "Refund this order and tell the customer it is done.",
    "Can I get my money back? The jacket does not fit.",
    "The parcel came damaged, please reimburse me.",
    "I returned the blender two weeks ago and still have no refund.",
)
SHIPPING_MESSAGES = (
    "Where is my package? It has not arrived.",
    "Any tracking update for my delivery?",
    "Where is my order? It was due yesterday.",
    "Is my package still in transit?",
    "The shipping page shows nothing, what is the delivery date?",
)
OTHER_MESSAGES = (  # no route keyword: the default route (refund_assist) takes them
    "I was charged twice for the same order.",
    "You billed me for an order I cancelled.",
)
STATUSES = (("standard", 0.90), ("vip", 0.04), ("flagged", 0.04), ("chargeback", 0.02))
APPROVALS = (("pending", 0.86), ("approved", 0.10), ("denied", 0.04))  # a lead on shift may answer in-run
# Per call (first call and its retry alike): (tool, fault kind, probability, message).
FAULTS = (
    ("read_order", "timeout", 0.015, "order-service: no answer within 3s"),
    ("read_order", "error", 0.010, "order-service: 503 Service Unavailable"),
    ("track_shipment", "timeout", 0.040, "carrier-api: no answer within 5s"),
    ("track_shipment", "error", 0.010, "carrier-api: 502 Bad Gateway"),
    ("draft_refund_request", "error", 0.010, "refund-desk: 500 Internal Server Error"),
    ("issue_refund", "timeout", 0.005, "payments: no answer within 3s"),
    ("issue_refund", "error", 0.015, "payments: card network declined the reversal"),
    ("send_customer_email", "error", 0.005, "mailer: 421 try again later"),
)
DATA_FAULT = 0.008  # read_order answers with malformed or partial data (first call)


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


@dataclass
class Case:
    """One synthetic request: what the agent is asked, and what the backend will answer."""

    ticket: str
    request: dict[str, Any]
    backend: dict[str, Any]  # a fixture-style context: tool_outputs, tool_faults, approvals, documents
    start_ns: int
    bypass: bool = False
    labels: dict[str, Any] = field(default_factory=dict)


def make_case(i: int, seed: int, start_ns: int, threshold: float) -> Case:
    """Request number `i`: a refund (above or below the threshold), a shipping question, or
    an unrouted complaint, for a customer whose status may force a review."""
    rng = random.Random(f"{seed}/request/{i}")
    order_id = f"ord_{rng.getrandbits(40):010x}"
    topic = rng.choices(("refund", "shipping", "other"), (0.60, 0.32, 0.08))[0]
    if rng.random() < 0.35:  # above the threshold: a support lead must approve
        amount = round(threshold + min(rng.lognormvariate(5.85, 0.9), 4500.0), 2)
    else:
        amount = round(min(max(rng.lognormvariate(4.5, 0.8), 4.0), threshold), 2)
    message = rng.choice({"refund": REFUND_MESSAGES, "shipping": SHIPPING_MESSAGES,
                          "other": OTHER_MESSAGES}[topic])
    status = _pick(rng, STATUSES)
    linked = rng.random() < 0.06  # the ticket names no order: read_order finds the linked one
    day = DEFAULT_START.date() + dt.timedelta(days=rng.randint(1, 6))
    shipment: dict[str, Any] = {"status": rng.choice(("in transit", "out for delivery", "delayed")),
                                "eta": day.isoformat(), "carrier": rng.choice(("UPS", "DHL", "USPS"))}
    if rng.random() < 0.12:  # not handed to the carrier yet: no delivery date to tell
        shipment = {"status": "label created", "eta": None, "carrier": shipment["carrier"]}
    faults: list[dict[str, Any]] = []
    for call in (1, 2):
        taken: set[str] = set()
        for tool, kind, p, text in FAULTS:
            if tool not in taken and rng.random() < p:
                taken.add(tool)
                faults.append({"tool": tool, "kind": kind, "call": call, "message": text})
    if rng.random() < DATA_FAULT and not any(f["tool"] == "read_order" and f["call"] == 1 for f in faults):
        faults.append({"tool": "read_order", "kind": rng.choice(("malformed", "partial")), "call": 1})
    order = {"order_id": order_id, "amount": amount, "currency": "USD", "status": "delivered",
             "customer_id": f"cus_{rng.getrandbits(32):08x}", "items": rng.randint(1, 4)}
    backend = {
        "tool_outputs": {
            "read_order": order, "track_shipment": shipment,
            "draft_refund_request": {"draft_id": f"dr_{rng.getrandbits(32):08x}", "status": "draft"},
            "issue_refund": {"refund_id": f"rf_{rng.getrandbits(32):08x}", "status": "issued"},
            "send_customer_email": {"message_id": f"msg_{rng.getrandbits(32):08x}", "status": "queued"}},
        "tool_faults": faults,
        "approvals": {"required": _pick(rng, APPROVALS)},
        "retrieved_documents": [{"index": "refund_policy", "id": "refund-policy-2026-04",
                                 "text": f"Refunds over {threshold:g} USD, or whose amount cannot be "
                                         "confirmed, need a support lead's approval."}]}
    ticket = f"tkt_{rng.getrandbits(48):012x}"
    request = {"input": {"user_message": message, **({} if linked else {"order_id": order_id})},
               "context": {"customer_status": status}}
    return Case(ticket, request, backend, start_ns,
                labels={"topic": topic, "amount": amount, "customer_status": status})


class ToolboxChannel(Channel):
    """The agent protocol answered in-process by a mocked `Toolbox`: no harness, no subprocess."""

    def __init__(self, toolbox: Toolbox) -> None:
        # no streams: `send` answers at once and `receive` hands the answer back
        self.toolbox = toolbox
        self.answer: dict[str, Any] | None = None

    def send(self, message: dict[str, Any]) -> None:
        tb, kind = self.toolbox, message.get("type")
        reply: Reply
        if kind == "tool_call":
            reply = tb.call(str(message["name"]), message.get("args"))
        elif kind == "retrieve":
            reply = tb.retrieve(str(message["name"]), message.get("query"))
        elif kind == "memory":
            reply = tb.memory(str(message["op"]), message.get("key"), message.get("value"))
        elif kind == "approval":
            reply = tb.approval(str(message.get("name") or "required"), message.get("args"))
        elif kind == "span":
            tb.record(message["span_type"], message["name"], status=message.get("status", "succeeded"),
                      **{k: message[k] for k in ("args", "result", "error", "input_tokens", "output_tokens",
                                                 "cost_usd", "duration_ms", "attributes") if k in message})
            return
        else:
            raise ValueError(f"unknown message type {kind!r}")
        self.answer = reply.to_message(message.get("id"))

    def receive(self) -> dict[str, Any]:
        answer, self.answer = self.answer, None
        if answer is None:
            raise RuntimeError("receive without a request")
        return answer


def local_tools(context: Context | dict[str, Any], manifest: ToolManifest | None) -> tuple[Tools, Toolbox]:
    """The agent's `Tools`, answered by a toolbox on `context` (a fixture's context, or a case's backend)."""
    ctx = context if isinstance(context, Context) else Context.model_validate(context)
    toolbox = Toolbox(ctx, manifest)
    request = {"tools": manifest.describe() if manifest is not None else []}
    return Tools(ToolboxChannel(toolbox), request), toolbox


@dataclass
class Revision(Artifacts):
    """The agent's artifacts with some files replaced (a candidate revision)."""

    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)

    def workflow(self, name: str) -> dict[str, Any]:
        return self.workflows[name] if name in self.workflows else super().workflow(name)


def _yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a mapping")
    return data


def revision(variant: str, bypass: bool) -> Revision:
    base = Artifacts.load()
    prompt = _yaml(HARMLESS_PROMPT) if variant == "harmless" else base.prompt
    return Revision(prompt, base.policy, base.routes,
                    workflows={"refund": _yaml(BYPASS_WORKFLOW)} if bypass else {})


def default_version(variant: str, bypass_share: float) -> str:
    return variant + ("+bypass" if bypass_share > 0 else "")


def simulate(requests: int, seed: int, bypass_share: float = 0.0, variant: str = "baseline",
             out: Path = Path("traces.jsonl"), *, service_version: str | None = None,
             environment: str = "production", start: dt.datetime = DEFAULT_START) -> Path:
    """Write `requests` traces to `out` (OTLP JSON Lines, replaced atomically); returns `out`.

    A share `bypass_share` of the requests (each drawn on its own) runs the bypass
    workflow of INC-2026-04-18-001; `variant` "harmless" rewords the replies.
    The resource says `service.version` (default: the variant, `+bypass` when some
    requests bypass) and `deployment.environment.name`; each root span says
    `refund_agent.workflow_revision` (`current` or `bypass`).
    """
    from refund_agent.telemetry import (
        SCOPE,
        OtlpJsonLinesExporter,
        SeededIds,
        SimulatedClock,
        traced_run,
        tracer_provider,
    )

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (expected one of {', '.join(VARIANTS)})")
    if not 0.0 <= bypass_share <= 1.0:
        raise ValueError(f"bypass share {bypass_share} is not between 0 and 1")
    version = service_version or default_version(variant, bypass_share)
    manifest = load_manifest(HOME / "tools" / "refund.yaml")
    revisions = {False: revision(variant, False), True: revision(variant, True)}
    threshold = float(revisions[False].policy["refund_threshold"])
    arrivals, bypasses = random.Random(f"{seed}/arrivals"), random.Random(f"{seed}/bypass")
    ids = SeededIds(random.Random())
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            provider = tracer_provider(OtlpJsonLinesExporter(fh), ids=ids, resource={
                "service.version": version, "deployment.environment.name": environment,
                # the SDK would draw a fresh uuid4 per process; one per seed keeps the file reproducible
                "service.instance.id": str(uuid.UUID(int=random.Random(f"{seed}/instance").getrandbits(128),
                                                     version=4))})
            tracer = provider.get_tracer(SCOPE, "1.0.0")
            now = int(start.timestamp() * 1e9)
            for i in range(requests):
                now += int(arrivals.expovariate(ARRIVALS_PER_MINUTE / 60.0) * 1e9)
                case = make_case(i, seed, now, threshold)
                case.bypass = bypasses.random() < bypass_share
                # trace ids per request and revision: reproducible, and never shared by two files' runs
                ids.rng.seed(f"{seed}/ids/{version}/{i}")
                tools, _ = local_tools(case.backend, manifest)
                # The agent does not catch every tool error (a failed send_customer_email ends the
                # run): in production that is a crashed run, its root span marked ERROR.
                with contextlib.suppress(ToolError):
                    traced_run(case.request, tools, tracer=tracer,
                               clock=SimulatedClock(case.start_ns, random.Random(f"{seed}/clock/{i}")),
                               artifacts=revisions[case.bypass], attributes={
                                   "gen_ai.conversation.id": case.ticket,
                                   "refund_agent.workflow_revision": "bypass" if case.bypass else "current"})
            provider.shutdown()
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing (or blocked)
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="simulate.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the instrumented refund agent over synthetic production requests and write "
                    "their traces as OTLP JSON Lines (as the OpenTelemetry Collector's file exporter does).",
        epilog="""Examples:
  python simulate.py --requests 400 --seed 1 --out baseline.jsonl
  python simulate.py --requests 400 --seed 2 --bypass-share 0.05 --out candidate.jsonl
  python simulate.py --requests 400 --seed 3 --variant harmless --out harmless.jsonl
  evalloop check fixtures/refund-approval-bypass-trajectory.yaml candidate.jsonl

The same arguments always write the same file. Needs opentelemetry: pip install 'evalloop[otel]'.""")
    parser.add_argument("--requests", type=int, default=200, metavar="N", help="requests to run (default 200)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed of every random draw (default 0)")
    parser.add_argument("--bypass-share", type=float, default=0.0, metavar="F",
                        help="share of requests on the bypass workflow of INC-2026-04-18-001 "
                             "(revisions/bypass/workflows/refund.yaml), 0..1 (default 0)")
    parser.add_argument("--variant", choices=VARIANTS, default="baseline",
                        help="baseline: the artifacts as they are; harmless: reworded replies "
                             "(revisions/harmless/prompts/refund.yaml), the same behaviour")
    parser.add_argument("--service-version", metavar="V",
                        help="resource service.version (default: the variant, +bypass with --bypass-share)")
    parser.add_argument("--environment", default="production", metavar="E",
                        help="resource deployment.environment.name (default production)")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="the OTLP JSON Lines file to write")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    if not 0.0 <= args.bypass_share <= 1.0:
        parser.error("--bypass-share must be between 0 and 1")
    if not all(_installed(m) for m in ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.common")):
        print("simulate.py: needs opentelemetry-sdk and opentelemetry-exporter-otlp-proto-common: "
              "pip install 'evalloop[otel]'", file=sys.stderr)
        return 2
    try:
        path = simulate(args.requests, args.seed, args.bypass_share, args.variant, args.out,
                        service_version=args.service_version, environment=args.environment)
    except OSError as exc:
        print(f"simulate.py: {args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.requests} traces to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
