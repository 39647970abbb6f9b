"""The benchmark script still runs (on a few users; the 100,000-user figure is in docs)."""

import pytest

from tests.performance.mongo_import_benchmark import measure

pytestmark = [pytest.mark.performance, pytest.mark.slow]


def test_benchmark_imports_and_exports_a_generated_collection():
    figures = measure(users=200, batch_size=64)
    assert {"import", "re-import (unchanged)", "export", "database"} <= set(figures)
