"""The layers import one way: blueprints -> schemas and services -> domain and models.

Built from the source with `ast` (no import runs), over every module of the layers, including
imports inside functions: a cycle hidden there still ties the layers together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("blueprints", "schemas", "services", "domain", "models")
# What each layer must never import (directly; the graph check below catches detours).
FORBIDDEN = {
    "domain": {"blueprints", "schemas", "services", "models"},
    "schemas": {"blueprints", "services"},
    "services": {"blueprints"},
    "models": {"blueprints", "schemas", "services"},
}


def imported_layers(layer: str) -> dict[str, set[str]]:
    """For each module of `layer`, the other layers it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / layer).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        tops = {name.split(".")[0] for name in names}
        found[str(path.relative_to(ROOT))] = (tops & set(LAYERS)) - {layer}
    return found


def layer_graph() -> dict[str, set[str]]:
    """Which layers each layer imports."""
    graph: dict[str, set[str]] = {}
    for layer in LAYERS:
        graph[layer] = set()
        for imported in imported_layers(layer).values():
            graph[layer] |= imported
    return graph


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_never_imports_the_layers_above_it(layer: str) -> None:
    offenders = {
        module: sorted(layers & FORBIDDEN[layer])
        for module, layers in imported_layers(layer).items()
        if layers & FORBIDDEN[layer]
    }
    assert offenders == {}


def test_layers_form_no_import_cycle() -> None:
    graph = layer_graph()
    visiting: list[str] = []
    done: set[str] = set()

    def visit(layer: str) -> None:
        assert layer not in visiting, f"import cycle: {' -> '.join([*visiting, layer])}"
        if layer in done:
            return
        visiting.append(layer)
        for imported in sorted(graph[layer]):
            visit(imported)
        visiting.pop()
        done.add(layer)

    for layer in LAYERS:
        visit(layer)


def test_schemas_take_the_email_and_password_rules_from_the_domain() -> None:
    from domain import emails, passwords
    from schemas import common

    assert common.normalize_email is emails.normalize_email
    assert common.MIN_LENGTH == passwords.MIN_LENGTH
