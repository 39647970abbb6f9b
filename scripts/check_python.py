"""Fail early, in plain words, when the interpreter is too old for the project."""

import sys

if sys.version_info < (3, 11):  # noqa: UP036 - runs under whatever python3 is installed
    found = ".".join(map(str, sys.version_info[:3]))
    sys.exit(f"Python 3.11 or newer is required (found {found}); run: make PYTHON=python3.13 ...")
