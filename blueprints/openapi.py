"""The OpenAPI 3.1 document, built from the same Pydantic models that validate requests, and an
interactive page for it (Swagger UI, vendored in static/vendor/swagger-ui: works offline)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from blueprints.endpoint import ENDPOINT_SPEC_ATTRIBUTE, EndpointSpec
from blueprints.security import TOKEN_API_PREFIXES
from schemas.common import Envelope, ErrorEnvelope, FormDescription

bp = Blueprint("openapi", __name__)

DOCUMENT_LOCK = threading.Lock()
SWAGGER_ASSETS = Path(__file__).resolve().parents[1] / "static" / "vendor" / "swagger-ui"
REF_TEMPLATE = "#/components/schemas/{model}"
PATH_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# Flask answers these for every route itself; OpenAPI tools take them as implied.
IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})
# What a browser page sharing a declared route's path answers a JSON client.
FORM_PAGE: type[BaseModel] = Envelope[FormDescription]
ERROR_DESCRIPTIONS = {
    400: "Bad request or validation error",
    401: "Authentication required, invalid token or invalid credentials",
    403: "Forbidden, account disabled, or (browser routes) the CSRF token is missing or wrong",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Rate limited (see Retry-After)",
    503: "Service unavailable",
    500: "Internal error",
}


@bp.get("/api/v1/openapi.json")
def get_openapi_document() -> ResponseReturnValue:
    """The OpenAPI 3.1 document of this API."""
    return cached_document("openapi_document", build_document)


@bp.get("/docs")
def get_docs_page() -> ResponseReturnValue:
    """Interactive API documentation."""
    return docs_page(url_for("openapi.get_openapi_document"))


def cached_document(key: str, build: Callable[[Flask], dict[str, Any]]) -> dict[str, Any]:
    """The app's document under `key`, built once, by the first of the concurrent first
    requests (blueprints/v1_compat/docs.py builds the `/v1` one too)."""
    with DOCUMENT_LOCK:
        document: dict[str, Any] | None = current_app.extensions.get(key)
        if document is None:
            document = build(current_app)
            current_app.extensions[key] = document
    return document


def docs_page(spec_url: str) -> ResponseReturnValue:
    """Swagger UI showing the document at `spec_url` (its script is static/js/docs.js: the
    Content-Security-Policy allows no inline script)."""
    return render_template("docs.html", spec_url=spec_url)


@bp.get("/docs/assets/<path:filename>")
def get_docs_asset(filename: str) -> ResponseReturnValue:
    """Swagger UI's own files (scripts/update_swagger_ui.sh vendors them)."""
    return send_from_directory(SWAGGER_ASSETS, filename, max_age=86400)


def openapi_path(rule: Rule) -> str:
    """`/users/<int:user_id>` as `/users/{user_id}`."""
    return PATH_PARAMETER.sub(lambda match: "{" + match.group("name") + "}", rule.rule)


def endpoint_specs(app: Flask) -> list[tuple[str, str, str, EndpointSpec]]:
    """(OpenAPI path, method, operation id, spec) for every declared route."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        spec: EndpointSpec | None = getattr(view, ENDPOINT_SPEC_ATTRIBUTE, None)
        if spec is None:
            continue
        path = openapi_path(rule)
        methods = sorted((rule.methods or set()) - IMPLICIT_METHODS)
        for method in methods:
            operation_id = rule.endpoint.replace(".", "_")
            if len(methods) > 1:
                operation_id += f"_{method.lower()}"
            found.append((path, method.lower(), operation_id, spec))
    return found


def page_routes(app: Flask, paths: set[str]) -> list[tuple[str, str, Rule]]:
    """(path, method, rule) of the undeclared browser pages on a declared route's path (the GET
    of a form), so the document lists every method the path's `Allow` header names."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        path = openapi_path(rule)
        if path not in paths or hasattr(view, ENDPOINT_SPEC_ATTRIBUTE):
            continue
        methods = sorted((rule.methods or set()) - IMPLICIT_METHODS)
        found += [(path, method.lower(), rule) for method in methods]
    return found


def build_document(app: Flask) -> dict[str, Any]:
    """Assemble the document from the declared routes and their models."""
    specs = endpoint_specs(app)
    outputs: set[type[BaseModel]] = {ErrorEnvelope, FORM_PAGE}
    outputs |= {m for *_, spec in specs if (m := spec.success_model)}
    inputs = {spec.body for *_, spec in specs if spec.body is not None}
    keys: list[tuple[type[BaseModel], Any]] = [(m, "serialization") for m in outputs]
    keys += [(m, "validation") for m in inputs]
    refs, definitions = models_json_schema(keys, ref_template=REF_TEMPLATE)

    paths: dict[str, dict[str, Any]] = {}
    for path, method, operation_id, spec in specs:
        paths.setdefault(path, {})[method] = operation(path, method, operation_id, spec, refs)
    for path, method, rule in page_routes(app, set(paths)):
        paths[path][method] = page_operation(app, path, rule, refs)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": app.config["APP_NAME"],
            "version": app.config["APP_VERSION"],
            "description": "User accounts and authentication. Every answer uses the envelope; "
            "errors carry a machine-readable code (see docs/api.md).",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Our HS256 access token (POST /api/v1/auth/login), or, when "
                    "Auth0 is configured, an RS256 access token of the Auth0 tenant for "
                    "AUTH0_AUDIENCE (503 SERVICE_UNAVAILABLE while its keys cannot be fetched; "
                    "see docs/api.md, Auth0).",
                },
                "browserSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": app.config["SESSION_COOKIE_NAME"],
                    "description": "The signed-in browser's session cookie (routes outside "
                    "/api and /v1); a state-changing request with it also needs the CSRF token "
                    "(`X-CSRFToken` header or `csrf_token` field), else 403.",
                },
            },
        },
    }
    if app.config["PUBLIC_BASE_URL"]:
        document["servers"] = [{"url": app.config["PUBLIC_BASE_URL"]}]
    return document


def csrf_checked(path: str, method: str) -> bool:
    """Whether blueprints/security.py may refuse this operation for a missing CSRF token: a
    state-changing method outside the token APIs, unless sent with a Bearer token."""
    state_changing = method.upper() in current_app.config["WTF_CSRF_METHODS"]
    return state_changing and not path.startswith(TOKEN_API_PREFIXES)


def error_responses(statuses: set[int], refs: dict[Any, Any]) -> dict[str, Any]:
    """The error envelope under each status, with its usual meaning."""
    error_ref = refs[(ErrorEnvelope, "serialization")]
    return {
        str(status): {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": error_ref}},
        }
        for status in sorted(statuses)
    }


def page_operation(app: Flask, path: str, rule: Rule, refs: dict[Any, Any]) -> dict[str, Any]:
    """A browser page: HTML, the form's description for JSON clients, or a redirect."""
    doc = (app.view_functions[rule.endpoint].__doc__ or rule.endpoint).strip()
    form = {"schema": refs[(FORM_PAGE, "serialization")]}
    page = {"text/html": {"schema": {"type": "string"}}, "application/json": form}
    return {
        "operationId": rule.endpoint.replace(".", "_"),
        "summary": doc.partition("\n")[0],
        "tags": ["pages"],
        "parameters": path_parameters(path),
        "responses": {
            "200": {"description": "The page; JSON clients get the form's fields", "content": page},
            "303": {"description": "Another page to go to (Location)"},
            **error_responses({400, 500}, refs),
        },
    }


def operation(
    path: str, method: str, operation_id: str, spec: EndpointSpec, refs: dict[Any, Any]
) -> dict[str, Any]:
    """One OpenAPI operation object."""
    content: dict[str, Any] = {}
    if spec.success_model is not None:
        schema = refs[(spec.success_model, "serialization")]
        content = {"content": {"application/json": {"schema": schema}}}
    responses: dict[str, Any] = {str(spec.status): {"description": "Success", **content}}
    statuses = set(spec.errors) | {500}
    if spec.auth:
        statuses.add(401)
    if spec.body is not None or spec.query is not None:
        statuses.add(400)
    if spec.body is not None:
        statuses |= {413, 415}
    if spec.page is not None or csrf_checked(path, method):
        statuses.add(403)  # a form (or cookie-authenticated JSON) without its CSRF token
    responses |= error_responses(statuses, refs)
    result: dict[str, Any] = {
        "operationId": operation_id,
        "summary": spec.summary,
        "tags": list(spec.tags),
        "parameters": path_parameters(path) + query_parameters(spec.query),
        "responses": responses,
    }
    if spec.description:
        result["description"] = spec.description
    if spec.body is not None:
        schema = {"schema": refs[(spec.body, "validation")]}
        body_content = {"application/json": schema}
        if spec.page is not None:  # browser routes also take forms (plus their csrf_token)
            body_content["application/x-www-form-urlencoded"] = schema
        result["requestBody"] = {
            "required": bool(spec.body.model_json_schema().get("required")),
            "content": body_content,
        }
    if spec.auth:
        result["security"] = [{"bearerAuth": []}]
        if not path.startswith(TOKEN_API_PREFIXES):
            result["security"].append({"browserSession": []})
    return result


# Path parameters that are not row ids (`<session:…>`, blueprints/__init__.py).
PATH_PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {
    "session_id": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"},
}


def path_parameters(path: str) -> list[dict[str, Any]]:
    """`{user_id}`-style segments as OpenAPI path parameters (row ids unless named in
    `PATH_PARAMETER_SCHEMAS`)."""
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_PARAMETER_SCHEMAS.get(name, {"type": "integer"}),
        }
        for name in re.findall(r"{(\w+)}", path)
    ]


def query_parameters(query: type[BaseModel] | None) -> list[dict[str, Any]]:
    """The query model's fields as OpenAPI query parameters."""
    if query is None:
        return []
    schema = query.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field_schema}
        for name, field_schema in schema.get("properties", {}).items()
    ]
