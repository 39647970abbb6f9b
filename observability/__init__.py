"""Logs, request ids, metrics and error reporting: what an operator sees of the running app."""

from observability.integrations import init_integrations
from observability.logs import configure_logging
from observability.metrics import register_metrics
from observability.request_context import REQUEST_ID_HEADER, register_request_hooks

__all__ = [
    "REQUEST_ID_HEADER",
    "configure_logging",
    "init_integrations",
    "register_metrics",
    "register_request_hooks",
]
