"""Readable names for the devices sessions were opened from, parsed from `User-Agent` headers
by ua-parser (the maintained uap-core rules): "Firefox on Linux", "Mobile Safari on iOS"."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from ua_parser import parse

# Longer headers are cut before parsing: the rules never need more, and a hostile header costs
# no more than this.
USER_AGENT_PARSE_LIMIT = 512


class Device(NamedTuple):
    """A browser (or client program) and the operating system it ran on; None where unknown."""

    browser: str | None
    system: str | None

    def describe(self) -> str:
        """English, for the API: "Firefox on Linux", "curl", "Linux", or "Unknown device"."""
        if self.browser and self.system:
            return f"{self.browser} on {self.system}"
        return self.browser or self.system or "Unknown device"


@lru_cache(maxsize=2048)
def parse_device(user_agent: str | None) -> Device:
    """The device a `User-Agent` header names (cached: one client sends the same header)."""
    if not user_agent:
        return Device(None, None)
    result = parse(user_agent[:USER_AGENT_PARSE_LIMIT])
    browser = result.user_agent.family if result.user_agent else None
    system = result.os.family if result.os else None
    return Device(_known(browser), _known(system))


def describe_device(user_agent: str | None) -> str:
    """`parse_device(user_agent).describe()`."""
    return parse_device(user_agent).describe()


def _known(family: str | None) -> str | None:
    return None if family in (None, "", "Other") else family
