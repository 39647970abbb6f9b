"""The OpenAPI 3.1 document, built from the same Pydantic models that validate requests, and an
interactive page for it (Swagger UI, vendored in static/vendor/swagger-ui: works offline)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from blueprints.endpoint import ENDPOINT_SPEC_ATTRIBUTE, EndpointSpec
from schemas.common import Envelope, ErrorEnvelope

bp = Blueprint("openapi", __name__)

SWAGGER_ASSETS = Path(__file__).resolve().parents[1] / "static" / "vendor" / "swagger-ui"
REF_TEMPLATE = "#/components/schemas/{model}"
PATH_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
ERROR_DESCRIPTIONS = {
    400: "Bad request or validation error",
    401: "Authentication required, invalid token or invalid credentials",
    403: "Forbidden or account disabled",
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
    document = current_app.extensions.get("openapi_document")
    if document is None:
        document = build_document(current_app)
        current_app.extensions["openapi_document"] = document
    return document


@bp.get("/docs")
def get_docs_page() -> ResponseReturnValue:
    """Interactive API documentation."""
    return render_template("docs.html")


@bp.get("/docs/assets/<path:filename>")
def get_docs_asset(filename: str) -> ResponseReturnValue:
    """Swagger UI's own files (scripts/update_swagger_ui.sh vendors them)."""
    return send_from_directory(SWAGGER_ASSETS, filename, max_age=86400)


def endpoint_specs(app: Flask) -> list[tuple[str, str, str, EndpointSpec]]:
    """(OpenAPI path, method, operation id, spec) for every declared route."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        spec: EndpointSpec | None = getattr(view, ENDPOINT_SPEC_ATTRIBUTE, None)
        if spec is None:
            continue
        path = PATH_PARAMETER.sub(lambda match: "{" + match.group("name") + "}", rule.rule)
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for method in methods:
            operation_id = rule.endpoint.replace(".", "_")
            if len(methods) > 1:
                operation_id += f"_{method.lower()}"
            found.append((path, method.lower(), operation_id, spec))
    return found


def response_model(spec: EndpointSpec) -> type[BaseModel] | None:
    """The model describing a route's success body (the envelope around its data)."""
    if not spec.envelope:
        return spec.response if isinstance(spec.response, type) else None
    data_type = spec.response if spec.response is not None else None
    model: type[BaseModel] = Envelope[data_type]  # type: ignore[valid-type]
    return model


def build_document(app: Flask) -> dict[str, Any]:
    """Assemble the document from the declared routes and their models."""
    specs = endpoint_specs(app)
    outputs = {ErrorEnvelope} | {m for *_, spec in specs if (m := response_model(spec))}
    inputs = {spec.body for *_, spec in specs if spec.body is not None}
    keys: list[tuple[type[BaseModel], Any]] = [(m, "serialization") for m in outputs]
    keys += [(m, "validation") for m in inputs]
    refs, definitions = models_json_schema(keys, ref_template=REF_TEMPLATE)

    paths: dict[str, dict[str, Any]] = {}
    for path, method, operation_id, spec in specs:
        paths.setdefault(path, {})[method] = operation(path, operation_id, spec, refs)
    return {
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
                }
            },
        },
    }


def operation(
    path: str, operation_id: str, spec: EndpointSpec, refs: dict[Any, Any]
) -> dict[str, Any]:
    """One OpenAPI operation object."""
    success_model = response_model(spec)
    content: dict[str, Any] = {}
    if success_model is not None:
        schema = refs[(success_model, "serialization")]
        content = {"content": {"application/json": {"schema": schema}}}
    responses: dict[str, Any] = {str(spec.status): {"description": "Success", **content}}
    error_ref = refs[(ErrorEnvelope, "serialization")]
    statuses = set(spec.errors) | {500}
    if spec.auth:
        statuses.add(401)
    if spec.body is not None or spec.query is not None:
        statuses.add(400)
    if spec.body is not None:
        statuses |= {413, 415}
    if spec.page is not None:
        statuses.add(403)  # a form (or cookie-authenticated JSON) without its CSRF token
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": error_ref}},
        }
    result: dict[str, Any] = {
        "operationId": operation_id,
        "summary": spec.summary,
        "tags": list(spec.tags),
        "parameters": path_parameters(path) + query_parameters(spec),
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
    return result


def path_parameters(path: str) -> list[dict[str, Any]]:
    """`{user_id}`-style segments as OpenAPI path parameters (every one is an id here)."""
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
        for name in re.findall(r"{(\w+)}", path)
    ]


def query_parameters(spec: EndpointSpec) -> list[dict[str, Any]]:
    """The query model's fields as OpenAPI query parameters."""
    if spec.query is None:
        return []
    schema = spec.query.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field_schema}
        for name, field_schema in schema.get("properties", {}).items()
    ]
