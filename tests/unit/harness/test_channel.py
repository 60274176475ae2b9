"""What the agent writes: protocol output and logs beyond their caps are errors; a log's end is quoted."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from evalloop.gate.execute import run_fixtures
from evalloop.harness.channel import MAX_LOG_BYTES, MAX_OUTPUT_BYTES, HarnessError
from evalloop.harness.protocol import run_fixture
from evalloop.model.config import AgentConfig, Config
from tests.support import write
from tests.unit.harness.agents import (
    contained,
    contained_agent,
    fixture,
    raw_agent,
)


@pytest.mark.parametrize(("agent", "how", "reason"), [
    ("raw", "flood", f"the agent wrote more than {MAX_OUTPUT_BYTES:,} bytes of protocol output"),
    ("raw", "flood_messages", f"the agent wrote more than {MAX_OUTPUT_BYTES:,} bytes of protocol output"),
    ("command", "log_flood", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stderr"),
    ("command", "endless_log", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stderr"),
    ("process", "log_flood", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stderr"),
    ("fork", "log_flood", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stdout and stderr"),
    ("fork", "stdout_flood", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stdout and stderr"),
    ("fork", "endless_log", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stdout and stderr"),
])
def test_output_beyond_the_caps_is_an_error(tmp_path: Path, agent: str, how: str, reason: str) -> None:
    root = contained(tmp_path)
    # an endless log is stopped as soon as it overflows: were it not, this run would take its whole timeout
    config = raw_agent() if agent == "raw" else contained_agent(agent, timeout_s=60.0)
    results = run_fixtures(root, Config(agent=config), [fixture(input={"how": how})])
    assert results[0].status == "error"
    assert (results[0].error or "").startswith(reason), results[0].error
    assert "\n" not in (results[0].error or "")


def test_a_long_log_is_fine_and_its_end_is_quoted(tmp_path: Path) -> None:
    write(tmp_path / "agent.py", textwrap.dedent("""\
        import sys
        for i in range(20_000):
            print(f"log line {i}", file=sys.stderr)  # ~300 KiB: kept only in part, not an error
        sys.exit(3)
        """))
    with pytest.raises(HarnessError) as err:
        run_fixture(tmp_path, AgentConfig(command=[sys.executable, "agent.py"]), fixture().fixture)
    assert "exited (status 3) without a final result (before any span); its stderr ends: " in err.value.reason
    assert err.value.reason.endswith("log line 19997 | log line 19998 | log line 19999")
