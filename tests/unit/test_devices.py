"""Readable device names from User-Agent headers (domain/devices.py)."""

from __future__ import annotations

import pytest

from domain.devices import USER_AGENT_PARSE_LIMIT, Device, describe_device, parse_device

pytestmark = pytest.mark.unit

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)


@pytest.mark.parametrize(
    ("user_agent", "described"),
    [
        (FIREFOX_LINUX, "Firefox on Linux"),
        (SAFARI_IPHONE, "Mobile Safari on iOS"),
        (EDGE_WINDOWS, "Edge on Windows"),
        ("curl/8.5.0", "curl"),
        ("", "Unknown device"),
        (None, "Unknown device"),
        ("\x00\x01 not a browser", "Unknown device"),
    ],
)
def test_a_user_agent_is_described_as_browser_on_system(
    user_agent: str | None, described: str
) -> None:
    assert describe_device(user_agent) == described


def test_a_system_alone_is_named() -> None:
    assert Device(None, "Linux").describe() == "Linux"


def test_a_huge_header_is_cut_before_parsing() -> None:
    padded = FIREFOX_LINUX + " x" * 100_000
    assert len(padded) > USER_AGENT_PARSE_LIMIT
    assert parse_device(padded) == Device("Firefox", "Linux")
