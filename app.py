"""The application factory and the WSGI entry point (`gunicorn app:application`).

`create_app()` only assembles: configuration, logging, extensions, request and security hooks,
blueprints, error handlers, shell context, commands and (when configured) tracing. It opens no
database connection.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.serving import is_running_from_reloader

import models
from blueprints import register_blueprints
from blueprints.rate_limits import register_refusals, skip_unlimited_routes
from blueprints.security import current_account, skip_cookie_upkeep_on_token_apis
from blueprints.shortcuts import register_shortcuts
from commands import register_commands
from config import Config, ConfigError, load_config
from errors import register_errorhandlers
from extensions import csrf, db, limiter, login_manager, migrate
from i18n import init_i18n
from json_provider import AppRequest, StrictJSONProvider
from observability.integrations import init_integrations
from observability.logs import configure_logging
from observability.metrics import register_metrics
from observability.request_context import register_request_envelope
from observability.tracing import init_tracing
from services import auth0_service, base_service, cache_service
from web_cors import register_cors
from web_security import register_security

__all__ = ["app", "application", "create_app", "db"]


class App(Flask):
    """Flask, checking each hook and view for a coroutine once instead of on every call.

    Flask passes every before/after/teardown hook, the view and each error handler through
    `ensure_sync` on every request, and that asks `inspect.iscoroutinefunction` each time: ~3 %
    of a worker's time under load on get-by-id, for an answer that never changes (issue 18)."""

    request_class = AppRequest
    # Functions are registered once; the cap only guards against callables made per request.
    SYNC_CACHE_LIMIT = 10_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_callables: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's `ensure_sync(func)`, remembered per function."""
        known = self._sync_callables.get(func)
        if known is None:
            if len(self._sync_callables) >= self.SYNC_CACHE_LIMIT:
                self._sync_callables.clear()
            known = self._sync_callables[func] = super().ensure_sync(func)
        return known


def create_app(config_name: str | None = None) -> Flask:
    """Build an application for the named configuration (default: `FLASK_CONFIG`/`FLASK_ENV`)."""
    settings = load_config(config_name)
    if settings.ENFORCE_SAFE_SETTINGS and (problems := settings.validate()):
        raise ConfigError(settings.NAME, problems)

    app = App(__name__, instance_relative_config=True)
    app.json = StrictJSONProvider(app)
    app.config.from_object(settings)
    app.extensions["app_config"] = settings

    configure_logging(app)
    init_integrations(app)
    register_extensions(app)
    register_request_envelope(app)
    register_metrics(app)
    register_security(app)
    register_cors(app)
    register_blueprints(app)
    skip_unlimited_routes(app)
    skip_cookie_upkeep_on_token_apis(app)
    register_errorhandlers(app)
    register_refusals(app)
    register_shellcontext(app)
    register_commands(app)
    # Last: tracing wraps what the steps above built, and only when configured; the shortcut
    # reads the routes and stays off while tracing is on.
    register_shortcuts(app, traced=init_tracing(app))
    return app


def register_extensions(app: Flask) -> None:
    """Bind the unbound extension objects from `extensions.py`."""
    db.init_app(app)
    base_service.init_app(app)
    migrate.init_app(app, db, directory="migrations")
    limiter.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    init_i18n(app)
    app.jinja_env.globals["current_account"] = current_account
    app.jinja_env.globals["auth0_sign_in_enabled"] = auth0_service.browser_enabled
    cache_service.init_app(app)


def register_shellcontext(app: Flask) -> None:
    """`flask shell` preloads the app, `db` and every model."""

    def shell_context() -> dict[str, Any]:
        context: dict[str, Any] = {"app": app, "db": db}
        context.update({name: getattr(models, name) for name in models.__all__})
        return context

    app.shell_context_processor(shell_context)


def _build_application() -> Flask:
    try:
        built = create_app()
    except ConfigError as exc:
        raise SystemExit(f"Refusing to start: {exc}") from exc
    settle_heap()
    return built


def settle_heap() -> None:
    """Hide what start-up left alive (the modules, the app, its extensions: ~190,000 objects that
    live as long as the process) from the garbage collector. Every full collection under load
    walked them all, ~90 ms with the worker's requests waiting: the get-by-id p99 fell from
    ~115 to ~44 ms without it (decision 0141). Objects made later are collected as before."""
    gc.collect()
    gc.freeze()


application = _build_application()
app = application


def serve() -> None:
    """`python app.py` (`make run`): the development server, saying where it listens."""
    settings: Config = application.extensions["app_config"]
    if not is_running_from_reloader():  # once, not again in the reloader's child
        # Werkzeug's own "Running on" line is silenced with its access log (observability/logs.py).
        print(  # noqa: T201
            f"Serving on http://{settings.FLASK_HOST}:{settings.FLASK_PORT} (CTRL+C to quit)",
            file=sys.stderr,
            flush=True,
        )
    application.run(host=settings.FLASK_HOST, port=settings.FLASK_PORT, debug=settings.DEBUG)


if __name__ == "__main__":
    serve()
