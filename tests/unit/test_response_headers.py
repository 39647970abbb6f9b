"""The middleware's header-list helpers (web_security): a header replaced keeps one value, and
`Vary` gains a field once, in the header already there."""

from __future__ import annotations

import pytest

from web_security import replace, vary_on


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([], [("Vary", "Origin")]),
        ([("Vary", "Cookie")], [("Vary", "Cookie, Origin")]),
        ([("vary", "Accept, origin")], [("vary", "Accept, origin")]),
        ([("Vary", "*")], [("Vary", "*")]),
        ([("Vary", "")], [("Vary", "Origin")]),
    ],
)
def test_vary_gains_a_field_once(before, after):
    headers = list(before)
    vary_on(headers, "Origin")
    assert headers == after


def test_a_replaced_header_has_one_value():
    headers = [("Cache-Control", "max-age=60"), ("X-A", "1"), ("cache-control", "public")]
    replace(headers, "Cache-Control", "no-store")
    assert headers == [("X-A", "1"), ("Cache-Control", "no-store")]
