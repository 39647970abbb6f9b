"""English texts marked for translation where they are defined, translated where they are shown.

The API answers in English (its codes are the contract); a page or a mail shows the same text in
the reader's language by looking it up with `gettext` at that moment (`i18n.translated`).
"""

from __future__ import annotations

from typing import Literal, get_args


def N_(text: str) -> str:  # noqa: N802 - gettext's conventional name, which pybabel extracts
    """`text` unchanged, and extracted into the catalog by `make translations`."""
    return text


# The languages of the pages and mails: English (the source) and German. A new language is added
# here only (and its catalog under translations/): the API's `locale` field uses this type.
LocaleName = Literal["en", "de"]
SUPPORTED_LOCALES: tuple[LocaleName, ...] = get_args(LocaleName)
DEFAULT_LOCALE = "en"
