"""The worked example's agent: `refund_agent:run` is its evalloop entrypoint."""

from refund_agent.agent import run

__all__ = ["run"]
