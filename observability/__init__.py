"""Logs, request ids, metrics, traces and error reporting: what an operator sees of the app."""

from observability.integrations import init_integrations
from observability.logs import configure_logging
from observability.metrics import register_metrics
from observability.request_context import REQUEST_ID_HEADER, register_request_hooks
from observability.tracing import init_tracing

__all__ = [
    "REQUEST_ID_HEADER",
    "configure_logging",
    "init_integrations",
    "init_tracing",
    "register_metrics",
    "register_request_hooks",
]
