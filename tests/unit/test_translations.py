"""The German catalog is complete and compiled, and no page or mail shows unmarked English.

- Every string marked in the code and templates (extracted fresh here, with babel's API and
  `babel.cfg`, as `make translations` does) has a German translation in the committed `.po`.
- The committed `.mo` (what the app loads) holds exactly the `.po`'s translations.
- Template text between tags, and the visible attributes, is marked: `{{ _("...") }}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from configparser import ConfigParser
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, nodes

from tests.ops_support import ROOT

pytestmark = pytest.mark.unit

CATALOG = ROOT / "translations" / "de" / "LC_MESSAGES"
TEMPLATES = ROOT / "templates"
# As the Makefile's `translations` target: babel's default keywords and these.
KEYWORDS = ("_l", "lazy_gettext")
IGNORED_DIRS = (".*", "._", "tests", "migrations", "node_modules", "static")
# Shown to people: the text of an element and these attributes.
VISIBLE_ATTRIBUTES = frozenset({"alt", "title", "placeholder", "aria-label"})
# Visible text that is the same in every language.
ALLOWED_TEXT = frozenset({"UTC"})
LETTERS = re.compile(r"[^\W\d_]{2,}")
# A marker for an expression's output while the HTML around it is parsed.
EXPRESSION = "\x00"


def method_map() -> list[tuple[str, str]]:
    config = ConfigParser()
    config.read(ROOT / "babel.cfg")
    return [
        (section.split(":", 1)[1].strip(), section.split(":", 1)[0].strip())
        for section in config.sections()
    ]


def extracted_messages() -> set[str | tuple[str, ...]]:
    """The msgids `pybabel extract -F babel.cfg` finds now (plurals as a tuple of forms)."""
    from babel.messages.extract import DEFAULT_KEYWORDS

    keywords = {**DEFAULT_KEYWORDS, **dict.fromkeys(KEYWORDS)}
    found: set[str | tuple[str, ...]] = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map=method_map(),
        keywords=keywords,
        directory_filter=_directory_filter,
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _directory_filter(dirpath: str) -> bool:
    name = Path(dirpath).name
    return not any(
        name.startswith(".") if pattern == ".*" else name == pattern for pattern in IGNORED_DIRS
    )


def german_catalog() -> dict[str | tuple[str, ...], str | tuple[str, ...]]:
    with (CATALOG / "messages.po").open("rb") as file:
        catalog = read_po(file)
    return {as_key(m.id): as_key(m.string) for m in catalog if m.id and not m.fuzzy}


def test_every_marked_string_has_a_german_translation():
    catalog = german_catalog()
    extracted = extracted_messages()
    assert len(extracted) > 100  # the extraction itself works
    missing = sorted(str(message) for message in extracted if message not in catalog)
    assert missing == [], f"run `make translations` (not in the .po yet): {missing}"
    empty = sorted(
        str(message)
        for message in extracted
        if not all(catalog[message] if isinstance(catalog[message], tuple) else [catalog[message]])
    )
    assert empty == [], f"translate these in translations/de/LC_MESSAGES/messages.po: {empty}"


def test_translations_keep_the_placeholders_of_their_message():
    for msgid, translation in german_catalog().items():
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        texts = translation if isinstance(translation, tuple) else (translation,)
        expected = set(re.findall(r"%\(\w+\)[sd]", ids[-1]))
        for text in texts:
            assert set(re.findall(r"%\(\w+\)[sd]", text)) == expected, msgid


def as_key(value: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)


def test_the_committed_mo_is_compiled_from_the_po():
    with (CATALOG / "messages.mo").open("rb") as file:
        compiled = read_mo(file)
    in_mo = {as_key(message.id): as_key(message.string) for message in compiled if message.id}
    in_po = {
        msgid: translation
        for msgid, translation in german_catalog().items()
        if all(translation if isinstance(translation, tuple) else [translation])
    }
    assert in_mo == in_po, "run `make translations` and commit the .mo with the .po"


# --- unmarked text in templates ---------------------------------------------------------------


class VisibleText(HTMLParser):
    """The text of the elements and the visible attributes of an HTML skeleton."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.pieces.extend(value or "" for name, value in attrs if name in VISIBLE_ATTRIBUTES)

    def handle_data(self, data: str) -> None:
        self.pieces.append(data)


def skeleton(node: nodes.Node) -> Iterator[str]:
    """The template's literal text in order, each expression's output as a marker."""
    if isinstance(node, nodes.TemplateData):
        yield node.data
        return
    if isinstance(node, nodes.Output):
        for child in node.nodes:
            yield from skeleton(child) if isinstance(child, nodes.TemplateData) else EXPRESSION
        return
    for child in node.iter_child_nodes():
        yield from skeleton(child)


def unmarked_constants(tree: nodes.Template) -> Iterator[str]:
    """English passed as a literal where text is shown: a form field's label or hint, a
    `{% with label = "..." %}`, an `{{ x or "Text" }}`."""
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "field":
            shown = call.args[1:2] + [kw.value for kw in call.kwargs if kw.key == "hint"]
            yield from (arg.value for arg in shown if isinstance(arg, nodes.Const))
    for scope in tree.find_all(nodes.With):
        for target, value in zip(scope.targets, scope.values, strict=True):
            if (
                isinstance(target, nodes.Name)
                and target.name == "label"
                and isinstance(value, nodes.Const)
            ):
                yield value.value
    for output in tree.find_all(nodes.Or):
        if isinstance(output.right, nodes.Const) and isinstance(output.right.value, str):
            yield output.right.value


def parser() -> Environment:
    """Jinja with the i18n tags, to parse (never render) the templates."""
    return Environment(extensions=["jinja2.ext.i18n"], autoescape=True)


def unmarked_text(path: Path, environment: Environment) -> list[str]:
    tree = environment.parse(path.read_text(), name=str(path))
    source = "".join(skeleton(tree))
    if path.suffix == ".html":
        parser = VisibleText()
        parser.feed(source)
        pieces = parser.pieces
    else:
        pieces = [source]
    texts = [
        text
        for piece in pieces
        for text in (part.strip() for part in piece.split(EXPRESSION))
        if not set(LETTERS.findall(text)) <= ALLOWED_TEXT
    ]
    return texts + [text for text in unmarked_constants(tree) if LETTERS.search(text)]


TEMPLATE_FILES = sorted(
    path for path in TEMPLATES.rglob("*") if path.suffix in (".html", ".txt") and path.is_file()
)


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_show_no_unmarked_text(path):
    assert unmarked_text(path, parser()) == []


@pytest.mark.parametrize(
    ("template", "found"),
    [
        ("<p>Hello there</p>", ["Hello there"]),
        ('<p>{{ _("Hello") }} <a href="{{ url }}">Start here</a></p>', ["Start here"]),
        ('<nav aria-label="Main menu"><b>{{ name }}</b> · UTC</nav>', ["Main menu"]),
        ('{{ field("email", "Email address", hint=_("Hint")) }}', ["Email address"]),
        ('{% with label = "Confirm" %}{{ label }}{% endwith %}', ["Confirm"]),
        ('<h2>{{ form_error or "Please correct" }}</h2>', ["Please correct"]),
        ('<p class="x y" data-x="Not shown">{{ _("Shown %(n)s", n=1) }}</p>', []),
    ],
)
def test_the_unmarked_text_check_finds_english(tmp_path, template, found):
    page = tmp_path / "page.html"
    page.write_text(template)
    assert unmarked_text(page, parser()) == found
