"""A small, deterministic support agent whose behaviour lives in its artifact files.

Nothing here decides policy: the route comes from routes/refund.yaml, the step
order and retry policy from workflows/*.yaml, the approval threshold from
policies/refund.yaml, the wording from prompts/refund.yaml, and what it may
call from tools/refund.yaml (handed over by the harness). Change an artifact
and the behaviour changes; that is what evalloop's gate protects.

The "model" is a scripted stand-in: it needs no network and no weights, and it
reports token usage (estimated at 4 characters a token) priced from the route
file, so budgets can be checked as for a real model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalloop.agent import ToolError, Tools

# Artifacts sit beside the package, so a checkout of another revision (the gate's
# base worktree) runs with that revision's artifacts.
HOME = Path(__file__).resolve().parent.parent


def _load(relative: str) -> dict[str, Any]:
    data = yaml.safe_load((HOME / relative).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{relative} must be a mapping")
    return data


@dataclass
class Artifacts:
    prompt: dict[str, Any]
    policy: dict[str, Any]
    routes: dict[str, Any]

    @classmethod
    def load(cls) -> Artifacts:
        return cls(_load("prompts/refund.yaml"), _load("policies/refund.yaml"), _load("routes/refund.yaml"))

    def workflow(self, name: str) -> dict[str, Any]:
        return _load(f"workflows/{name}.yaml")


@dataclass
class State:
    order_id: str | None
    customer_status: str | None
    order: dict[str, Any] | None = None
    amount: float | None = None
    review_reasons: list[str] = field(default_factory=list)
    requires_approval: bool | None = None
    approval: str | None = None  # pending | approved | denied, once requested
    refunded: bool = False
    shipment: dict[str, Any] | None = None
    output: str | None = None
    stop_reason: str | None = None
    final_status: str | None = None


class Agent:
    def __init__(self, request: dict[str, Any], tools: Tools, artifacts: Artifacts) -> None:
        self.tools = tools
        self.art = artifacts
        self.input = request.get("input") or {}
        self.context = request.get("context") or {}
        order_id = self.input.get("order_id")
        self.state = State(order_id=order_id if isinstance(order_id, str) else None,
                           customer_status=self.context.get("customer_status"))
        self.retry: dict[str, Any] = {}

    # ------------------------------------------------------------------ model

    def model_turn(self, purpose: str, prompt: str, completion: str) -> None:
        model = self.art.routes["model"]
        tokens_in = max(1, len(prompt) // 4)
        tokens_out = max(1, len(completion) // 4)
        cost = tokens_in / 1000 * model["usd_per_1k_input_tokens"] + \
            tokens_out / 1000 * model["usd_per_1k_output_tokens"]
        self.tools.model(model["name"], input_tokens=tokens_in, output_tokens=tokens_out,
                         cost_usd=round(cost, 8), args={"purpose": purpose})

    def route(self) -> dict[str, Any]:
        message = str(self.input.get("user_message") or "")
        text = message.lower()
        routes = self.art.routes["routes"]
        chosen = next((r for r in routes if any(k in text for k in r["when_any"])), None)
        if chosen is None:
            chosen = next(r for r in routes if r["name"] == self.art.routes["default_route"])
        self.model_turn("route", self.art.prompt["system"] + "\n" + message, chosen["name"])
        return dict(chosen)

    # ------------------------------------------------------------------ tools

    def call(self, name: str, **args: Any) -> Any:
        """A tool call, retried as the workflow's retry policy says."""
        attempts = int(self.retry.get("max_attempts", 1))
        # `retry_on`, not `on`: YAML 1.1 (PyYAML) reads a bare `on` key as the boolean true.
        retry_on = set(self.retry.get("retry_on", []))
        for attempt in range(1, attempts + 1):
            try:
                return self.tools.call(name, args)
            except ToolError as exc:
                if exc.kind not in retry_on or attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def reply(self, key: str, **values: Any) -> str:
        s = self.state
        values.setdefault("order", f"order {s.order_id}" if s.order_id else "your order")
        return " ".join(str(self.art.prompt["replies"][key]).format(**values).split())

    def money(self, amount: float | None) -> str:
        if amount is None:
            return "the requested amount"
        return f"{amount:g} {self.art.policy.get('currency', 'USD')}"

    # ------------------------------------------------------------------ steps

    def read_order(self) -> None:
        s = self.state
        try:
            order = self.call("read_order", **({"order_id": s.order_id} if s.order_id else {}))
        except ToolError as exc:
            s.review_reasons.append(f"order unreadable ({exc.kind})")
            return
        amount = order.get("amount") if isinstance(order, dict) else None
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            # malformed or partial data: the amount cannot be confirmed
            s.review_reasons.append("order data incomplete")
            return
        s.order, s.amount = order, float(amount)
        if s.order_id is None and isinstance(order.get("order_id"), str):
            s.order_id = order["order_id"]

    def retrieve_policy(self) -> None:
        self.tools.retrieve("refund_policy", query=f"refund policy {self.art.policy['policy_version']}")

    def check_threshold(self) -> None:
        s, policy = self.state, self.art.policy
        threshold = policy["refund_threshold"]
        if s.amount is not None and s.amount > threshold:
            s.review_reasons.append(f"amount over {threshold}")
        if s.customer_status in policy.get("always_review_statuses", []):
            s.review_reasons.append(f"customer status {s.customer_status}")
        s.requires_approval = bool(s.review_reasons) or s.amount is None
        self.tools.record("policy", "refund_threshold", args={
            "amount": s.amount, "threshold": threshold, "customer_status": s.customer_status,
            "policy_version": policy["policy_version"]},
            result={"requires_approval": s.requires_approval, "reasons": s.review_reasons})

    def request_approval(self) -> None:
        s = self.state
        if s.requires_approval is False:
            return
        s.approval = self.tools.approval("required", args={
            "order_id": s.order_id, "amount": s.amount, "reasons": s.review_reasons})

    def draft_refund_request(self) -> None:
        s = self.state
        args: dict[str, Any] = {}
        if s.order_id:
            args["order_id"] = s.order_id
        if s.amount is not None:
            args["amount"] = s.amount
            args["currency"] = self.art.policy.get("currency", "USD")
        if s.approval is not None:
            args["approval"] = s.approval
        elif s.requires_approval is False:
            args["approval"] = "not_required"
        if s.review_reasons:
            args["note"] = "; ".join(s.review_reasons)
        try:
            self.call("draft_refund_request", **args)
        except ToolError:
            s.review_reasons.append("draft failed")

    def issue_refund(self) -> None:
        s = self.state
        allowed = s.requires_approval is False or s.approval == "approved"
        if not allowed or s.amount is None or s.order_id is None:
            return
        try:
            self.call("issue_refund", order_id=s.order_id, amount=s.amount,
                      currency=self.art.policy.get("currency", "USD"))
        except ToolError:
            return
        s.refunded = True

    def reply_to_customer(self) -> None:
        s = self.state
        if s.approval == "pending":
            text = self.reply("pending_approval", threshold=self.money(self.art.policy["refund_threshold"]))
            self.tools.record("message", "customer_update", result=text)
        elif s.approval == "denied":
            text = self.reply("denied")
            self.tools.record("message", "customer_update", result=text)
        else:
            # Trusts the workflow: no pending approval is taken to mean the refund may
            # go ahead. Run before the approval gate, this promises an unapproved refund.
            text = self.reply("promise", amount=self.money(s.amount))
            self.call("send_customer_email", **({"order_id": s.order_id} if s.order_id else {}), body=text)
            self.tools.record("message", "customer_promise_sent", args={"order_id": s.order_id}, result=text)
        self.model_turn("reply", self.art.prompt["system"], text)
        s.output = text

    def track_shipment(self) -> None:
        s = self.state
        if s.order_id is None:
            return
        try:
            shipment = self.call("track_shipment", order_id=s.order_id)
        except ToolError:
            return
        if isinstance(shipment, dict):
            s.shipment = shipment

    def reply_with_status(self) -> None:
        s = self.state
        if s.shipment and s.shipment.get("status") and s.shipment.get("eta"):
            text = self.reply("shipping_status", status=s.shipment["status"], eta=s.shipment["eta"])
            s.stop_reason, s.final_status = "answered", "resolved"
        else:
            text = self.reply("shipping_unknown")
            s.stop_reason, s.final_status = "handed_off", "needs_human"
        self.tools.record("message", "shipping_status", result=text)
        self.model_turn("reply", self.art.prompt["system"], text)
        s.output = text

    # ------------------------------------------------------------------ run

    def outcome(self) -> tuple[str, str]:
        s = self.state
        if s.stop_reason and s.final_status:
            return s.stop_reason, s.final_status
        if s.approval == "pending":
            return "needs_human_approval", "needs_human"
        if s.approval == "denied":
            return "approval_denied", "denied"
        if s.refunded:
            return "refund_issued", "resolved"
        return "needs_human_review", "needs_human"

    def run(self) -> dict[str, Any]:
        route = self.route()
        workflow = self.art.workflow(route["workflow"])
        self.retry = dict(workflow.get("retry") or {})
        for step in workflow["steps"]:
            action = STEPS.get(step)
            if action is None:
                raise ValueError(f"workflows/{route['workflow']}.yaml: unknown step {step!r}")
            action(self)
        stop_reason, final_status = self.outcome()
        return {"route": route["name"], "stop_reason": stop_reason, "final_status": final_status,
                "output": self.state.output}


STEPS: dict[str, Callable[[Agent], None]] = {name: getattr(Agent, name) for name in (
    "read_order", "retrieve_policy", "check_threshold", "request_approval", "draft_refund_request",
    "issue_refund", "reply_to_customer", "track_shipment", "reply_with_status")}


def run(request: dict[str, Any], tools: Tools) -> dict[str, Any]:
    """The evalloop entrypoint (`refund_agent:run`)."""
    return Agent(request, tools, Artifacts.load()).run()
