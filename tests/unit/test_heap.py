"""Start-up hides the long-lived heap from the garbage collector (decision 0141)."""

from __future__ import annotations

import gc

import pytest

pytestmark = pytest.mark.unit


def test_the_application_built_at_import_is_frozen():
    import app

    assert gc.get_freeze_count() > 10_000
    assert not any(tracked is app.application for tracked in gc.get_objects())


def test_objects_made_after_start_up_are_still_collected():
    class Node:
        pass

    cycle = Node()
    cycle.self = cycle  # type: ignore[attr-defined]
    del cycle
    assert gc.collect() > 0
