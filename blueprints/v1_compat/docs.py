"""`/v1/openapi.json`: the old contract's OpenAPI 3.1 document, built from the `@documented`
declarations of the `/v1` routes and the models their views validate and answer with; and
`/v1/docs`, Swagger UI on it, outside staging and production (the old service served its
docs in development only)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, url_for
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from blueprints.openapi import (
    IMPLICIT_METHODS,
    REF_TEMPLATE,
    cached_document,
    docs_page,
    openapi_path,
    query_parameters,
)
from blueprints.v1_compat.common import FORM_MIMETYPE, LEGACY_SPEC_ATTRIBUTE, LegacySpec, bp
from errors import NotFound
from schemas.v1_compat import OBJECT_ID, LegacyError

# Where `/v1/docs` is served; the old service mounted its docs route in development only.
DOCS_ENVIRONMENTS = frozenset({"development", "testing"})
ERROR_DESCRIPTIONS = {
    400: 'Validation failed: every failing rule\'s message joined with ", "',
    401: '"Please authenticate", or the route\'s own message',
    403: '"Forbidden": a right the caller lacks',
    404: '"Not found", or the route\'s own message',
    429: "Too many requests (see Retry-After)",
    500: "Internal error",
}


@bp.get("/openapi.json")
def get_v1_openapi_document() -> ResponseReturnValue:
    """The OpenAPI 3.1 document of the old `/v1` contract."""
    return cached_document("v1_openapi_document", build_v1_document)


@bp.get("/docs")
def get_v1_docs_page() -> ResponseReturnValue:
    """Interactive documentation of the old `/v1` contract (not in staging or production)."""
    if current_app.config["ENV_NAME"] not in DOCS_ENVIRONMENTS:
        raise NotFound()
    return docs_page(url_for("v1_compat.get_v1_openapi_document"))


def legacy_specs(app: Flask) -> list[tuple[str, str, str, LegacySpec]]:
    """(path under `/v1`, method, operation id, spec) for every declared `/v1` route."""
    prefix = bp.url_prefix or "/v1"
    found = []
    for rule in app.url_map.iter_rules():
        spec: LegacySpec | None = getattr(
            app.view_functions.get(rule.endpoint), LEGACY_SPEC_ATTRIBUTE, None
        )
        if spec is None:
            continue
        path = openapi_path(rule).removeprefix(prefix)
        operation_id = rule.endpoint.rpartition(".")[2]
        for method in sorted((rule.methods or set()) - IMPLICIT_METHODS):
            found.append((path, method.lower(), operation_id, spec))
    return found


def build_v1_document(app: Flask) -> dict[str, Any]:
    """Assemble the `/v1` document from the declared routes and their models."""
    specs = legacy_specs(app)
    outputs = {LegacyError} | {spec.response for *_, spec in specs if spec.response}
    inputs = {spec.body for *_, spec in specs if spec.body is not None}
    keys: list[tuple[type[BaseModel], Any]] = [(m, "serialization") for m in outputs]
    keys += [(m, "validation") for m in inputs]
    refs, definitions = models_json_schema(keys, ref_template=REF_TEMPLATE)
    paths: dict[str, dict[str, Any]] = {}
    for path, method, operation_id, spec in specs:
        paths.setdefault(path, {})[method] = legacy_operation(path, operation_id, spec, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{app.config['APP_NAME']}: the old /v1 API",
            "version": app.config["APP_VERSION"],
            "description": "The Node.js service's contract, kept for its clients during the "
            "cut-over (docs/migration.md). Bare bodies, no envelope; every error is "
            '`{"code", "message"}`; user ids are 24-hex ObjectIds. New clients use /api/v1.',
        },
        "servers": [{"url": app.config["PUBLIC_BASE_URL"].rstrip("/") + (bp.url_prefix or "")}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token of this backend (POST /v1/auth/login), or "
                    "one the old service signed before the switch (LEGACY_JWT_SECRET) until "
                    "it expires.",
                },
            },
        },
    }


def legacy_operation(
    path: str, operation_id: str, spec: LegacySpec, refs: dict[Any, Any]
) -> dict[str, Any]:
    """One OpenAPI operation object of the `/v1` document."""
    success: dict[str, Any] = {"description": "Success" if spec.status != 204 else "No content"}
    if spec.response is not None:
        schema = refs[(spec.response, "serialization")]
        success["content"] = {"application/json": {"schema": schema}}
    statuses = set(spec.errors) | {500}
    if spec.auth:
        statuses.add(401)
    if spec.body is not None or spec.query is not None:
        statuses.add(400)
    error = {"application/json": {"schema": refs[(LegacyError, "serialization")]}}
    responses = {str(spec.status): success} | {
        str(status): {"description": ERROR_DESCRIPTIONS[status], "content": error}
        for status in sorted(statuses)
    }
    result: dict[str, Any] = {
        "operationId": operation_id,
        "summary": spec.summary,
        "tags": list(spec.tags),
        "parameters": object_id_parameters(path) + query_parameters(spec.query),
        "responses": responses,
    }
    if spec.description:
        result["description"] = spec.description
    if spec.body is not None:
        schema = {"schema": refs[(spec.body, "validation")]}
        result["requestBody"] = {
            "required": bool(spec.body.model_json_schema().get("required")),
            # Express parsed both; so does blueprints/v1_compat/common.py's request_body.
            "content": {"application/json": schema, FORM_MIMETYPE: schema},
        }
    if spec.auth:
        result["security"] = [{"bearerAuth": []}]
    return result


def object_id_parameters(path: str) -> list[dict[str, Any]]:
    """`{user_id}`-style segments: 24-hex ObjectIds (another string is answered 400)."""
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": OBJECT_ID.pattern},
        }
        for name in re.findall(r"{(\w+)}", path)
    ]
