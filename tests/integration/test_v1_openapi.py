"""The old `/v1` API has its own OpenAPI document, built from the models its routes validate and
answer with, and (outside staging and production) Swagger UI on it."""

from urllib.parse import parse_qs, urlsplit

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from blueprints.openapi import IMPLICIT_METHODS, openapi_path
from blueprints.v1_compat.common import LEGACY_SPEC_ATTRIBUTE, RequestInput
from tests.apps import dispose_engines, make_app
from tests.factories import create_user
from tests.integration.v1_support import v1_login, v1_user
from tests.mail_server import first_link

pytestmark = pytest.mark.integration

DOCS_ROUTES = {("get", "/v1/openapi.json"), ("get", "/v1/docs")}


@pytest.fixture
def document(app, client):
    app.extensions.pop("v1_openapi_document", None)  # built by an earlier test's settings
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json


def documented_operations(document):
    """(method, full path) of every operation: the paths are relative to the `/v1` server."""
    return {(method, f"/v1{path}") for path, ops in document["paths"].items() for method in ops}


def v1_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1/"):
            for method in sorted((rule.methods or set()) - IMPLICIT_METHODS):
                yield method.lower(), openapi_path(rule), rule


def check(document, method, path, response):
    """`response` is one the document names for the operation, with a body of its schema."""
    relative = path.removeprefix("/v1")
    answers = document["paths"][relative][method]["responses"]
    status = str(response.status_code)
    assert status in answers, f"{method} {path} answered an undocumented {status}"
    content = answers[status].get("content")
    if content is None:
        assert response.get_data() == b"", f"{method} {path} {status} has an undocumented body"
        return
    schema = {**content["application/json"]["schema"], "components": document["components"]}
    Draft202012Validator(schema).validate(response.json)


def token_from(mail, path):
    return parse_qs(urlsplit(first_link(mail, path)).query)["token"][0]


def test_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_v1_route_is_documented_and_nothing_else(app, document):
    registered = {(method, path) for method, path, _ in v1_rules(app)} - DOCS_ROUTES
    assert registered == documented_operations(document)
    assert len(registered) == 13


def test_the_server_is_the_public_base_url_under_v1(database):
    application = make_app(database.url, PUBLIC_BASE_URL="https://accounts.example.com")
    try:
        document = application.test_client().get("/v1/openapi.json").json
    finally:
        dispose_engines(application)
    assert document["servers"] == [{"url": "https://accounts.example.com/v1"}]
    assert "/auth/login" in document["paths"]  # paths are relative to it


def test_errors_are_the_old_code_and_message(document):
    error = document["components"]["schemas"]["LegacyError"]
    assert set(error["required"]) == set(error["properties"]) == {"code", "message"}
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if int(status) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/LegacyError"}, (method, path)
            assert "500" in op["responses"]


def test_bearer_is_the_only_security_scheme(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes == {"bearerAuth": {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}}
    secured = {
        (method, path)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if op.get("security") == [{"bearerAuth": []}]
    }
    assert ("post", "/auth/send-verification-email") in secured
    assert {("post", "/auth/login"), ("post", "/auth/register")}.isdisjoint(secured)
    assert {path for _, path in secured if path.startswith("/users")} == {
        "/users",
        "/users/{user_id}",
    }


def test_old_shapes_are_described(document):
    schemas = document["components"]["schemas"]
    user = schemas["LegacyUser"]
    assert set(user["required"]) == {"id", "name", "email", "role", "isEmailVerified"}
    assert user["properties"]["id"]["pattern"] == "^[0-9a-fA-F]{24}$"
    assert set(schemas["LegacyUserPage"]["required"]) == {
        "results",
        "page",
        "limit",
        "totalPages",
        "totalResults",
    }
    assert schemas["RefreshTokenBody"]["required"] == ["refreshToken"]
    assert schemas["RegisterBody"]["additionalProperties"] is False
    listing = document["paths"]["/users"]["get"]["parameters"]
    assert [p["name"] for p in listing] == ["name", "role", "sortBy", "limit", "page"]
    by_id = document["paths"]["/users/{user_id}"]["get"]["parameters"]
    assert by_id[0]["schema"] == {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}


def test_each_route_validates_with_the_models_it_documents(app, client, monkeypatch):
    """The declared body and query are the models the view validates with (an empty request
    of an administrator reaches every validation)."""
    admin = v1_user(app, client, email="v1doc-admin@example.com", role="admin")
    used: list[type] = []
    validate_model = RequestInput.model

    def spy(self, model, data):
        used.append(model)
        return validate_model(self, model, data)

    monkeypatch.setattr(RequestInput, "model", spy)
    for method, path, rule in v1_rules(app):
        spec = getattr(app.view_functions[rule.endpoint], LEGACY_SPEC_ATTRIBUTE, None)
        if spec is None:
            continue
        used.clear()
        url = path.replace("{user_id}", admin.id)
        client.open(url, method=method.upper(), json={}, headers=admin.headers)
        assert set(used) == {m for m in (spec.body, spec.query) if m}, (method, path)


def test_real_answers_match_the_documented_schemas(mail_app, app, client, smtp_server, document):
    admin = v1_user(app, client, email="v1doc-admin@example.com", role="admin")
    create_user(app, email="v1doc-user@example.com")
    exercised = set()

    def call(method, path, *, template=None, **kwargs):
        response = client.open(path, method=method.upper(), **kwargs)
        template = template or path.partition("?")[0]
        check(document, method, template, response)
        exercised.add((method, template))
        return response

    registered = call(
        "post",
        "/v1/auth/register",
        json={"email": "v1doc-new@example.com", "password": "password1", "name": "New"},
    )
    assert registered.status_code == 201
    me = {"Authorization": f"Bearer {registered.json['tokens']['access']['token']}"}
    refresh = registered.json["tokens"]["refresh"]["token"]
    signed_in = call(
        "post", "/v1/auth/login", json={"email": "v1doc-user@example.com", "password": "x"}
    )
    assert signed_in.status_code == 401
    signed_in = call(
        "post",
        "/v1/auth/login",
        json={"email": "v1doc-new@example.com", "password": "password1"},
    )
    assert signed_in.status_code == 200
    refreshed = call("post", "/v1/auth/refresh-tokens", json={"refreshToken": refresh})
    assert refreshed.status_code == 200
    refresh = refreshed.json["refresh"]["token"]
    assert call("post", "/v1/auth/send-verification-email", headers=me).status_code == 204
    token = token_from(smtp_server.messages[-1], "/auth/verify-email")
    assert call("post", f"/v1/auth/verify-email?token={token}").status_code == 204
    forgot = call("post", "/v1/auth/forgot-password", json={"email": "v1doc-new@example.com"})
    assert forgot.status_code == 204
    token = token_from(smtp_server.messages[-1], "/auth/reset-password")
    reset = "/v1/auth/reset-password"
    assert call("post", reset, json={"password": "short"}).status_code == 400
    assert call("post", f"{reset}?token={token}", json={"password": "password2"}).status_code == 204
    assert call("post", "/v1/auth/logout", json={"refreshToken": "nope"}).status_code == 404
    again = v1_login(client, "v1doc-new@example.com", "password2")  # the reset ended the rest
    assert call("post", "/v1/auth/logout", json={"refreshToken": again.refresh}).status_code == 204
    me = v1_login(client, "v1doc-new@example.com", "password2").headers

    users = "/v1/users"
    one = "/v1/users/{user_id}"
    assert call("get", users).status_code == 401
    created = call(
        "post",
        users,
        headers=admin.headers,
        json={"email": "v1doc-c@example.com", "password": "password1", "name": "C", "role": "user"},
    )
    assert created.status_code == 201
    listed = call("get", f"{users}?sortBy=name:desc&limit=2", headers=admin.headers)
    assert listed.status_code == 200 and listed.json["limit"] == 2
    target = f"/v1/users/{created.json['id']}"
    assert call("get", target, template=one, headers=admin.headers).status_code == 200
    assert call("get", "/v1/users/nope", template=one, headers=admin.headers).status_code == 400
    missing = "/v1/users/" + "0" * 24
    assert call("get", missing, template=one, headers=admin.headers).status_code == 404
    assert call("get", target, template=one, headers=me).status_code == 403
    changed = call("patch", target, template=one, headers=admin.headers, json={"name": "D"})
    assert changed.status_code == 200 and changed.json["name"] == "D"
    assert call("delete", target, template=one, headers=admin.headers).status_code == 204
    assert exercised == documented_operations(document)


def test_docs_page_is_served_outside_staging_and_production(database):
    for environment, status in (
        ("development", 200),
        ("testing", 200),
        ("staging", 404),
        ("production", 404),
    ):
        application = make_app(database.url, ENV_NAME=environment)
        client = application.test_client()
        try:
            page = client.get("/v1/docs", headers={"Accept": "text/html"})
            assert page.status_code == status, environment
            assert client.get("/v1/openapi.json").status_code == 200
            if status == 404:
                assert page.json == {"code": 404, "message": "Not found"}
                continue
            html = page.get_data(as_text=True)
            assert 'data-spec-url="/v1/openapi.json"' in html
            assert "/docs/assets/swagger-ui-bundle.js" in html
            assert "<script>" not in html  # the Content-Security-Policy allows no inline script
            assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        finally:
            dispose_engines(application)


def test_the_main_docs_page_still_shows_the_main_document(client):
    html = client.get("/docs", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'data-spec-url="/api/v1/openapi.json"' in html


def test_both_are_gone_with_the_legacy_api(database, monkeypatch):
    monkeypatch.setenv("LEGACY_API_ENABLED", "false")
    application = make_app(database.url, ENV_NAME="development")
    client = application.test_client()
    try:
        assert client.get("/v1/openapi.json").status_code == 404
        assert client.get("/v1/docs").status_code == 404
        paths = client.get("/api/v1/openapi.json").json["paths"]
        assert not [path for path in paths if path.startswith("/v1")]
    finally:
        dispose_engines(application)
