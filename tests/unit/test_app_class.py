"""`App.ensure_sync` answers what Flask's does, asking once per function."""

from __future__ import annotations

import inspect

import pytest

from app import App


def view() -> str:
    return "ok"


def test_a_sync_function_is_itself_and_asked_about_once(monkeypatch):
    app = App(__name__)
    asked: list[object] = []
    real = inspect.iscoroutinefunction

    def counting(func: object) -> bool:
        asked.append(func)
        return real(func)

    monkeypatch.setattr("flask.app.iscoroutinefunction", counting)
    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view
    assert asked == [view]


def test_a_coroutine_function_is_still_refused_without_async_support():
    pytest.importorskip("flask")

    async def coroutine() -> str:
        return "ok"

    app = App(__name__)
    try:
        import asgiref  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="async"):
            app.ensure_sync(coroutine)
    else:
        assert app.ensure_sync(coroutine)() == "ok"


def test_the_cache_is_bounded():
    app = App(__name__)
    for n in range(App.SYNC_CACHE_LIMIT + 5):
        app.ensure_sync(lambda n=n: n)
    assert len(app._sync_callables) <= App.SYNC_CACHE_LIMIT
