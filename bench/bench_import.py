"""Trace import speed: `load_runs` on ~100 MB of each trace format against bare orjson.

    python bench/bench_import.py [--mb 100] [--repeat 3] [--profile all] [--cprofile 15]

Generates bench/out/otlp_<profile>_<mb>mb.jsonl (once; delete it to regenerate) with
agent traces shaped like the Google ADK and kagent recordings in
tests/data/traces: invoke_workflow > invoke_agent > call_llm > generate_content
(> openai.chat), execute_tool spans with JSON arguments and results, HTTP and
a2a plumbing spans that the importer drops, large llm_request prompts. Each
line is one ExportTraceServiceRequest as a collector's file exporter writes it,
a batch holding spans of a few traces; a trace's spans may span two lines.

Two more data sets replicate real recordings from tests/data/traces into
thousands of traces with fresh ids, shifted times and 1-4 tool steps each:

- `langfuse`: bench/out/langfuse_<mb>mb.jsonl, JSON Lines of Langfuse trace
  exports (`{"trace", "observations"}`) shaped like the Koog export in
  tests/data/traces/koog (AGENT, node SPANs, GENERATIONs with their prompts,
  tool SPANs, OpenTelemetry attributes in `metadata`);
- `spans`: bench/out/spans_<mb>mb.json, one JSON list of snake-case flat spans
  (strands-evals dump) shaped like tests/data/traces/pydantic_ai: invoke_agent
  > chat / execute_tool spans with their message attributes.

The floor is `orjson.loads` of every line (of the whole document for `spans`)
of the file already in memory; the import is `load_runs` (what `evalloop check`
calls), including reading the file and the collection of the young generation
it pays before it returns. Both are best of --repeat runs, in the same process.
--cprofile N prints the N functions with the most own time of one more import.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import gc
import io
import os
import pstats
import random
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evalloop.traces.load import load_runs  # noqa: E402

OUT = ROOT / "bench" / "out"
TRACES = ROOT / "tests" / "data" / "traces"
LANGFUSE_TEMPLATE = TRACES / "koog" / "koog-2025-08-26.langfuse.json"
SPANS_TEMPLATE = TRACES / "pydantic_ai" / "pydantic_ai_live_spans.strands-evals.json"
TOOLS = ["get_weather", "get_time", "read_order", "issue_refund", "helm_list_releases",
         "search_docs", "send_email", "lookup_customer"]
POLICY = ("You are a support agent for an online shop. Follow the refund policy: refunds over "
          "the threshold need human approval before money moves. Never promise an outcome "
          "before the tool confirms it. ")
# Prompt sizes per profile: kagent's recorded prompts are ~14 KB, ADK's toy ones ~1 KB.
PROFILES = {"kagent": 14, "lean": 1}
# Replicated recordings: profile -> file suffix.
REPLICATED = {"langfuse": "jsonl", "spans": "json"}


def _s(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _i(key: str, value: int) -> dict[str, Any]:
    return {"key": key, "value": {"intValue": str(value)}}


class Gen:
    """Traces with the span tree and attribute sets of the kagent/ADK recordings."""

    def __init__(self, seed: int, prompt_kb: int) -> None:
        self.rnd = random.Random(seed)
        self.clock = 1_790_000_000_000_000_000
        self.prompt = (POLICY * (prompt_kb * 1000 // len(POLICY) + 1))[: prompt_kb * 1000]

    def hexid(self, n: int) -> str:
        return f"{self.rnd.getrandbits(n * 4):0{n}x}"

    def span(self, trace: str, parent: str | None, name: str, start: int, dur: int,
             attrs: list[dict[str, Any]], kind: int = 1, error: str | None = None
             ) -> dict[str, Any]:
        sp: dict[str, Any] = {"traceId": trace, "spanId": self.hexid(16), "name": name,
                              "kind": kind, "startTimeUnixNano": str(start),
                              "endTimeUnixNano": str(start + dur), "attributes": attrs,
                              "status": {}, "flags": 256}
        if parent:
            sp["parentSpanId"] = parent
        if error:
            sp["status"] = {"code": 2, "message": error}
            sp["events"] = [{"timeUnixNano": str(start + dur), "name": "exception",
                             "attributes": [_s("exception.type", "ValueError"),
                                            _s("exception.message", error)]}]
        return sp

    def http(self, tid: str, parent: str, start: int, path: str, kind: int) -> dict[str, Any]:
        r = self.rnd
        return self.span(tid, parent, f"POST {path}", start, 10**6, [
            _s("server.address", "kagent-controller.kagent"), _s("http.request.method", "POST"),
            _s("url.scheme", "http"), _i("server.port", 8083),
            _s("network.peer.address", f"10.42.0.{r.randint(2, 250)}"),
            _i("network.peer.port", r.randint(30000, 60000)),
            _s("user_agent.original", "python-httpx/0.28.1"), _s("url.path", path),
            _s("network.protocol.version", "1.1"),
            _i("http.response.body.size", r.randint(99, 4000)),
            _i("http.response.status_code", 201)], kind=kind)

    def trace(self) -> list[dict[str, Any]]:
        r = self.rnd
        tid = self.hexid(32)
        t0 = self.clock
        self.clock += r.randint(10**9, 10**10)
        task = [_s("gen_ai.task.id", self.hexid(32)),
                _s("gen_ai.conversation.id", f"ctx-{self.hexid(32)}")]
        invocation = _s("gcp.vertex.agent.invocation_id", f"e-{self.hexid(32)}")
        spans = [self.http(tid, "", t0, "/api/a2a/kagent/support-agent/", 2)]
        root = spans[0]["spanId"]
        wf = self.span(tid, root, "invoke_workflow support_agent", t0 + 10**6, 8 * 10**8,
                       [_s("gen_ai.operation.name", "invoke_workflow"),
                        _s("gen_ai.workflow.name", "support_agent"), *task])
        agent = self.span(tid, wf["spanId"], "invoke_agent support_agent", t0 + 2 * 10**6,
                          7 * 10**8, [_s("gen_ai.operation.name", "invoke_agent"),
                                      _s("gen_ai.agent.description", POLICY),
                                      _s("gen_ai.agent.name", "support_agent"), *task])
        spans += [wf, agent]
        t = t0 + 3 * 10**6
        history: list[dict[str, Any]] = [{"role": "user", "parts": [
            {"text": f"Please help with order {self.hexid(8)}."}]}]
        for step in range(r.randint(1, 4)):
            tool = r.choice(TOOLS)
            last = step == 3 or r.random() < 0.3
            tin, tout = r.randint(200, 4000), r.randint(5, 300)
            text = f"Step {step}: the answer for the customer is {self.hexid(12)}." if last else ""
            parts = [{"text": text}] if last else [
                {"function_call": {"args": {"id": self.hexid(6)}, "name": tool}}]
            request = orjson.dumps({"model": "gemini-2.5-flash", "config": {
                "system_instruction": self.prompt, "tools": TOOLS}, "contents": history}).decode()
            response = orjson.dumps({"content": {"parts": parts, "role": "model"},
                                     "usage_metadata": {"prompt_token_count": tin,
                                                        "candidates_token_count": tout}}).decode()
            usage = [_i("gen_ai.usage.input_tokens", tin), _i("gen_ai.usage.output_tokens", tout)]
            event = _s("gcp.vertex.agent.event_id", self.hexid(32))
            finish = {"key": "gen_ai.response.finish_reasons",
                      "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}}
            call = self.span(tid, agent["spanId"], "call_llm", t, 5 * 10**7, [
                *task, _s("gen_ai.system", "gcp.vertex.agent"),
                _s("gen_ai.request.model", "gpt-4.1-mini"), invocation, event,
                _s("gcp.vertex.agent.session_id", task[1]["value"]["stringValue"]),
                _s("gcp.vertex.agent.llm_request", request),
                _s("gcp.vertex.agent.llm_response", response), *usage, finish])
            gen = self.span(tid, call["spanId"], "generate_content gpt-4.1-mini", t + 10**5,
                            4 * 10**7, [*task, _s("gen_ai.system", "gemini"),
                                        _s("gen_ai.operation.name", "generate_content"),
                                        _s("gen_ai.request.model", "gpt-4.1-mini"),
                                        _s("gen_ai.agent.name", "support_agent"), event,
                                        invocation, finish, *usage])
            spans += [call, gen]
            if r.random() < 0.5:
                # OpenLLMetry's provider span: prompts and tool definitions flattened
                prompt_attrs = []
                for n, msg in enumerate(history[-6:]):
                    prompt_attrs += [_s(f"gen_ai.prompt.{n}.role", msg["role"]),
                                     _s(f"gen_ai.prompt.{n}.content",
                                        orjson.dumps(msg["parts"]).decode())]
                for n, name in enumerate(TOOLS):
                    prompt_attrs += [_s(f"llm.request.functions.{n}.name", name),
                                     _s(f"llm.request.functions.{n}.description",
                                        f"Call {name} for the customer"),
                                     _s(f"llm.request.functions.{n}.parameters",
                                        '{"type": "object", "properties": {"id": '
                                        '{"type": "string"}}, "required": ["id"]}')]
                spans.append(self.span(tid, gen["spanId"], "openai.chat", t + 2 * 10**5,
                                       3 * 10**7, [
                                           _s("llm.request.type", "chat"), *task,
                                           _s("gen_ai.system", "openai"),
                                           _s("gen_ai.request.model", "gpt-4.1-mini"),
                                           _s("gen_ai.response.model", "gpt-4.1-mini-2025-04-14"),
                                           _s("gen_ai.response.id", f"chatcmpl-{self.hexid(24)}"),
                                           *prompt_attrs, *usage,
                                           _s("gen_ai.completion.0.finish_reason", "stop"),
                                           _s("gen_ai.completion.0.role", "assistant")],
                                       kind=3))
            spans.append(self.http(tid, gen["spanId"], t + 3 * 10**5,
                                   f"/api/sessions/{self.hexid(8)}/events", 3))
            history.append({"role": "model", "parts": parts})
            t += 6 * 10**7
            if last:
                break
            failed = r.random() < 0.05
            result = orjson.dumps({"id": self.hexid(6), "status": "ok",
                                   "rows": [self.hexid(20) for _ in range(r.randint(1, 8))]}
                                  ).decode()
            spans.append(self.span(
                tid, agent["spanId"], f"execute_tool {tool}", t, 2 * 10**7,
                [*task, _s("gen_ai.operation.name", "execute_tool"),
                 _s("gen_ai.tool.description", f"Call {tool} for the customer"),
                 _s("gen_ai.tool.name", tool), _s("gen_ai.tool.type", "FunctionTool"),
                 _s("gcp.vertex.agent.llm_request", "{}"),
                 _s("gcp.vertex.agent.llm_response", "{}"),
                 _s("gcp.vertex.agent.tool_call_args",
                    orjson.dumps({"id": self.hexid(6)}).decode()),
                 _s("gen_ai.tool.call.id", f"call_{self.hexid(24)}"),
                 _s("gcp.vertex.agent.event_id", self.hexid(32)),
                 _s("gcp.vertex.agent.tool_response", result)],
                error="lookup failed" if failed else None))
            spans.append(self.span(tid, agent["spanId"],
                                   "a2a.server.events.event_queue.EventQueue.enqueue_event",
                                   t + 10**5, 10**4, task, kind=2))
            history.append({"role": "user", "parts": [{"function_response": result}]})
            t += 3 * 10**7
        return spans


def request(spans: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"resourceSpans": [{
        "resource": {"attributes": [_s("service.name", "support-agent"),
                                    _s("telemetry.sdk.language", "python")]},
        "scopeSpans": [{"scope": {"name": "gcp.vertex.agent", "version": "2.10.0"},
                        "spans": spans}]}]})


def generate(path: Path, megabytes: int, prompt_kb: int) -> None:
    gen = Gen(seed=3, prompt_kb=prompt_kb)
    target = megabytes * 1_000_000
    written = 0
    pending: list[dict[str, Any]] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        while written < target:
            pending += gen.trace()
            # a batch ends wherever the exporter's queue filled up, mid-trace included
            cut = gen.rnd.randint(8, 40)
            while len(pending) >= cut:
                line = request(pending[:cut]) + b"\n"
                pending = pending[cut:]
                fh.write(line)
                written += len(line)
        if pending:
            fh.write(request(pending) + b"\n")
    os.replace(tmp, path)


_ISO = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?)"')


def _iso_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _ms_iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") \
        + f"{ms % 1000:03d}Z"


class Replicator:
    """Fresh ids, shifted times and 1-4 tool steps for copies of a real recording."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.shift_ms = 0

    def hexid(self, n: int) -> str:
        return f"{self.rnd.getrandbits(n * 4):0{n}x}"

    def uuid(self) -> str:
        h = self.hexid(32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def rename(self, text: str, ids: dict[str, str]) -> str:
        """`text` (a serialized trace) with every id in `ids` replaced, times shifted."""
        for old, new in ids.items():
            text = text.replace(old, new)
        shift = self.shift_ms
        return _ISO.sub(lambda m: f'"{_ms_iso(_iso_ms(m.group(1)) + shift)}"', text)

    def langfuse(self, template: dict[str, Any]) -> bytes:
        """One Koog-shaped Langfuse export: the recorded trace plus 0-3 more tool steps."""
        r = self.rnd
        doc = copy.deepcopy(template)
        observations = doc["observations"]
        extra = []
        step_ms = 2_000
        for step in range(1, r.randint(1, 4)):
            for obs in template["observations"]:
                if obs["type"] == "GENERATION" or obs["name"].startswith("tool."):
                    dup = copy.deepcopy(obs)
                    dup["id"] = f"@{step}@{obs['id']}"  # renamed below
                    for key in ("startTime", "endTime"):
                        dup[key] = _ms_iso(_iso_ms(obs[key]) + step * step_ms)
                    extra.append(dup)
        observations += extra
        ids = {template["trace"]["id"]: self.hexid(32)}
        for obs in observations:
            ids[obs["id"]] = self.hexid(16)
        text = orjson.dumps(doc).decode()
        for old in sorted({m for m in re.findall(r"call_[A-Za-z0-9]{24}", text)}):
            ids[old] = f"call_{self.hexid(24)}"
        for old in sorted(set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                         r"[0-9a-f]{12}", text))):
            ids[old] = self.uuid()
        self.shift_ms += r.randint(5_000, 60_000)
        # extra steps' ids first: they contain the recorded ids
        ordered = sorted(ids.items(), key=lambda kv: not kv[0].startswith("@"))
        return self.rename(text, dict(ordered)).encode()

    def spans(self, template: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One pydantic-ai run as flat spans: the recording plus 0-3 more tool steps."""
        r = self.rnd
        trace_id = self.hexid(32)
        shift_ns = self.shift_ms * 1_000_000
        self.shift_ms += r.randint(5_000, 60_000)
        root = next(sp for sp in template if sp["parent_span_id"] is None)
        steps = [sp for sp in template if sp["name"].startswith("execute_tool")]
        chats = [sp for sp in template if sp["name"].startswith("chat")]
        body = list(template)
        end = root["end_time"]
        for _ in range(1, r.randint(1, 4)):
            for sp in (*steps, chats[-1]):
                dup = copy.deepcopy(sp)
                dup["span_id"] = None  # gets its own id below
                dup["start_time"] += end - root["start_time"]
                dup["end_time"] += end - root["start_time"]
                body.append(dup)
            end += root["end_time"] - root["start_time"]
        ids = {root["span_id"]: self.hexid(16)}
        call = self.uuid()
        conversation = self.uuid()
        out = []
        for sp in body:
            new = copy.deepcopy(sp)
            new["trace_id"] = trace_id
            new["span_id"] = ids.get(sp["span_id"]) or self.hexid(16)
            if sp["parent_span_id"] is not None:
                new["parent_span_id"] = ids[sp["parent_span_id"]]
            else:
                new["end_time"] = end
            new["start_time"] += shift_ns
            new["end_time"] += shift_ns
            attrs = new["attributes"]
            for key, value in (("gen_ai.agent.call.id", call),
                               ("gen_ai.conversation.id", conversation),
                               ("gen_ai.tool.call.id", f"toolu_bdrk_{self.hexid(24)}"),
                               ("gen_ai.response.id", f"msg_bdrk_{self.hexid(24)}")):
                if key in attrs:
                    attrs[key] = value
            out.append(new)
        return out


def generate_replicated(profile: str, path: Path, megabytes: int) -> None:
    rep = Replicator(seed=10)
    target = megabytes * 1_000_000
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        if profile == "langfuse":
            template = orjson.loads(LANGFUSE_TEMPLATE.read_bytes())
            while written < target:
                line = rep.langfuse(template) + b"\n"
                fh.write(line)
                written += len(line)
        else:
            template = orjson.loads(SPANS_TEMPLATE.read_bytes())
            spans: list[dict[str, Any]] = []
            while written < target:
                run = rep.spans(template)
                spans += run
                written += len(orjson.dumps(run))
            fh.write(orjson.dumps(spans, option=orjson.OPT_INDENT_2) + b"\n")
    os.replace(tmp, path)


def best(fn: Any, repeat: int) -> tuple[float, float, Any]:
    """(best wall time, best CPU time of this process, the last result)."""
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        result = None
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return min(walls), min(cpus), result


def _counts(profile: str, docs: list[Any]) -> tuple[int, int]:
    """(spans, attributes) in the parsed documents of a data set."""
    n_spans = n_attrs = 0
    for doc in docs:
        if profile == "langfuse":
            for obs in doc["observations"]:
                n_spans += 1
                n_attrs += len((obs.get("metadata") or {}).get("attributes") or {})
        elif profile == "spans":
            n_spans += len(doc)
            n_attrs += sum(len(sp["attributes"]) for sp in doc)
        else:
            for rs in doc["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    n_spans += len(ss["spans"])
                    n_attrs += sum(len(sp["attributes"]) for sp in ss["spans"])
    return n_spans, n_attrs


def data_path(profile: str, megabytes: int) -> Path:
    if profile in REPLICATED:
        return OUT / f"{profile}_{megabytes}mb.{REPLICATED[profile]}"
    return OUT / f"otlp_{profile}_{megabytes}mb.jsonl"


def measure(profile: str, megabytes: int, repeat: int, top: int
            ) -> tuple[str, list[str], str]:
    path = data_path(profile, megabytes)
    if not path.exists():
        t = time.perf_counter()
        if profile in REPLICATED:
            generate_replicated(profile, path, megabytes)
        else:
            generate(path, megabytes, PROFILES[profile])
        print(f"generated {path.relative_to(ROOT)} in {time.perf_counter() - t:.1f}s")
    data = path.read_bytes()
    # the floor parses what the importer parses: each line of JSON Lines, else the document
    chunks = [data] if profile == "spans" else data.splitlines()
    size_mb = len(data) / 1e6
    n_spans, n_attrs = _counts(profile, [orjson.loads(c) for c in chunks])

    def floor() -> int:
        loads = orjson.loads
        for chunk in chunks:
            loads(chunk)
        return len(chunks)

    floor_wall, floor_cpu, _ = best(floor, repeat)
    import_wall, import_cpu, runs = best(lambda: load_runs(path), repeat)
    kept = sum(len(r.spans) for r in runs)
    unit = "document" if profile == "spans" else f"{len(chunks):,} lines"
    head = (f"{profile}: {path.name}, {size_mb:.0f} MB, {unit}, {n_spans:,} spans "
            f"({len(data) / n_spans:,.0f} B and {n_attrs / n_spans:.1f} attributes a span) "
            f"-> {len(runs):,} runs, {kept:,} spans kept; "
            f"x floor (cpu) {import_cpu / floor_cpu:.2f}: "
            f"{'goal (<= 3x) met' if import_cpu / floor_cpu <= 3 else 'goal (<= 3x) MISSED'}")
    rows = []
    floor_name = "orjson.loads (floor)" if profile == "spans" else "orjson.loads per line (floor)"
    for name, wall, cpu in ((floor_name, floor_wall, floor_cpu),
                            ("load_runs (read + parse + map)", import_wall, import_cpu)):
        rows.append(f"| {profile:<8} | {name:<32} | {wall:6.2f} | {cpu:6.2f} | "
                    f"{size_mb / cpu:5.0f} | {cpu / n_spans * 1e6:7.2f} | "
                    f"{wall / floor_wall:6.2f} | {cpu / floor_cpu:6.2f} |")
    report = ""
    if top:
        runs = None
        gc.collect()
        prof = cProfile.Profile()
        prof.enable()
        load_runs(path)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
        report = f"--- cProfile of load_runs, {profile} (own time first) ---\n{buf.getvalue()}"
    return head, rows, report


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", choices=[*PROFILES, *REPLICATED, "all"], default="all")
    ap.add_argument("--cprofile", type=int, default=0, metavar="N",
                    help="print the N functions with the most own time of one more import")
    args = ap.parse_args()
    profiles = [*PROFILES, *REPLICATED] if args.profile == "all" else [args.profile]
    results = [measure(p, args.mb, args.repeat, args.cprofile) for p in profiles]
    print(f"\npython {sys.version.split()[0]}, orjson {orjson.__version__}, "
          f"best of {args.repeat}")
    for head, _, _ in results:
        print(head)
    print("\nwall = elapsed seconds, cpu = this process's user+sys seconds (steadier when")
    print("other work shares the machine); MB/s and us/span from cpu; ratios to the floor.")
    print(f"\n| {'data':<8} | {'step':<32} | {'wall':>6} | {'cpu':>6} | {'MB/s':>5} "
          f"| {'us/span':>7} | {'x wall':>6} | {'x cpu':>6} |")
    print(f"|{'-' * 10}|{'-' * 34}|{'-' * 8}|{'-' * 8}|{'-' * 7}|{'-' * 9}|{'-' * 8}|{'-' * 8}|")
    for _, rows, _ in results:
        for row in rows:
            print(row)
    for _, _, report in results:
        if report:
            print(f"\n{report}")


if __name__ == "__main__":
    main()
