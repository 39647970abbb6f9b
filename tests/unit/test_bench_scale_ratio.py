"""`make bench-scale` compares each round's two sizes, measured back to back, not medians taken
across rounds: a change in the machine's load between rounds must not read as a slowdown."""

import pytest

from tests.performance.bench_scale import paired_slowdown
from tests.performance.servers import Result

pytestmark = pytest.mark.unit


def runs(*rates: float) -> list[Result]:
    return [Result(rps=rate) for rate in rates]


def test_load_that_changes_between_rounds_lands_on_both_sizes():
    # Each round both sizes ran at the same rate; the machine's load changed between rounds.
    # Medians across rounds would give 424 / 210 = 2.0x.
    small, large = runs(325, 424, 119), runs(320, 210, 115)
    # Per round: 1.02x, 2.02x (load rose between the two runs of that round), 1.03x.
    assert paired_slowdown(small, large) == pytest.approx(119 / 115)


def test_a_real_slowdown_shows_in_every_round():
    assert paired_slowdown(runs(400, 300, 200), runs(200, 150, 100)) == pytest.approx(2.0)


def test_a_size_that_answered_nothing_is_infinitely_slower():
    assert paired_slowdown(runs(100), runs(0)) == float("inf")
