"""The OpenAPI document describes every declared route from the validating models; /docs works
offline."""

import gc
import re
import sys
import threading

import pytest
from openapi_spec_validator import validate

from blueprints.endpoint import ENDPOINT_SPEC_ATTRIBUTE
from blueprints.openapi import SWAGGER_ASSETS
from tests.factories import USER_FIELDS, signed_in_user

pytestmark = pytest.mark.integration

CONTRACT_ROUTES = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/password"),
    ("post", "/api/v1/auth/forgot-password"),
    ("post", "/api/v1/auth/reset-password"),
    ("post", "/api/v1/auth/send-verification-email"),
    ("post", "/api/v1/auth/verify-email"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/{user_id}"),
    ("put", "/api/v1/users/{user_id}"),
    ("patch", "/api/v1/users/{user_id}"),
    ("delete", "/api/v1/users/{user_id}"),
    ("post", "/auth/register"),
    ("get", "/auth/profile"),
    ("get", "/api/v1/health"),
    ("get", "/api/v1/status"),
}
# Contract §9 (version 1.1): self-service and sessions.
SELF_SERVICE_ROUTES = {
    ("get", "/api/v1/users/me"),
    ("patch", "/api/v1/users/me"),
    ("delete", "/api/v1/users/me"),
    ("get", "/api/v1/auth/sessions"),
    ("delete", "/api/v1/auth/sessions/{session_id}"),
    ("post", "/api/v1/auth/sessions/revoke-others"),
    ("get", "/api/v1/users/{user_id}/sessions"),
    ("post", "/api/v1/auth/2fa/recovery-codes"),
}


@pytest.fixture
def admin_headers(app, client):
    return signed_in_user(app, client, email="openapi-admin@example.com", role="admin").headers


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def operations(document):
    return {
        (method, path): op for path, ops in document["paths"].items() for method, op in ops.items()
    }


def first_requests_at_once(app, count):
    """The statuses of `count` requests for the document arriving together on a fresh start."""
    app.extensions.pop("openapi_document", None)
    gc.collect()  # no generic model left over from an earlier build
    barrier = threading.Barrier(count)
    statuses = []

    def fetch():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.get("/api/v1/openapi.json").status_code)

    threads = [threading.Thread(target=fetch) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return statuses


def test_concurrent_first_requests_all_get_the_document(app):
    """The first requests after a start arrive together (schemathesis, several workers): each
    used to build the document and could fail on a generic model made twice (500)."""
    for _ in range(5):
        assert first_requests_at_once(app, 8) == [200] * 8


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_contract_route_is_described(document):
    assert set(operations(document)) >= CONTRACT_ROUTES | SELF_SERVICE_ROUTES


def test_sessions_and_the_user_locale_are_described(document):
    schemas = document["components"]["schemas"]
    session = schemas["SessionRead"]
    assert set(session["required"]) == {
        "id", "kind", "created_at", "last_used_at", "ip", "user_agent", "device", "current"
    }  # fmt: skip
    assert session["properties"]["kind"]["enum"] == ["api", "browser"]
    locale = schemas["UserRead"]["properties"]["locale"]["anyOf"]
    assert {"enum": ["en", "de"], "type": "string"} in locale
    ending = operations(document)[("delete", "/api/v1/auth/sessions/{session_id}")]
    (parameter,) = ending["parameters"]
    assert parameter["schema"] == {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"}
    assert "404" in ending["responses"]


def route_methods(app, declared_only):
    return {
        (method.lower(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if not declared_only or hasattr(app.view_functions[rule.endpoint], ENDPOINT_SPEC_ATTRIBUTE)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_declared_route_is_in_the_document(app, document):
    """Declared routes, plus the pages on their paths (GET of a form): all methods of a path."""
    declared = route_methods(app, declared_only=True)
    paths = {path for _, path in declared}
    pages = {(method, path) for method, path in route_methods(app, False) if path in paths}
    assert declared | pages == set(operations(document))


# A value each path parameter takes (row ids: any number).
SAMPLE_PARAMETERS = {"session_id": "0" * 32}


def sample_url(path):
    return re.sub(r"{(\w+)}", lambda match: SAMPLE_PARAMETERS.get(match[1], "1"), path)


def test_options_allows_exactly_the_documented_methods(client, document):
    for path, ops in document["paths"].items():
        url = sample_url(path)
        allowed = set(client.options(url).headers["Allow"].lower().split(", "))
        assert allowed - {"head", "options"} == set(ops), path


def test_the_document_names_the_public_base_url_as_its_server(document):
    assert document["servers"] == [{"url": "http://127.0.0.1:5000"}]  # the testing default


def test_envelope_fields_are_required_and_timestamps_are_date_times(document):
    schemas = document["components"]["schemas"]
    for name in ("Envelope_UserRead_", "Envelope_NoneType_"):
        assert set(schemas[name]["required"]) == {"success", "data", "message", "timestamp"}
        assert schemas[name]["properties"]["success"]["const"] is True
        assert schemas[name]["properties"]["timestamp"]["format"] == "date-time"
    error = schemas["ErrorEnvelope"]
    assert set(error["required"]) == {"success", "error", "timestamp"}
    assert error["properties"]["timestamp"]["format"] == "date-time"
    user = schemas["UserRead"]["properties"]
    assert user["created_at"]["format"] == "date-time"
    assert user["last_login_at"]["anyOf"][0] == {"format": "date-time", "type": "string"}


def test_the_sort_parameter_lists_exactly_the_values_the_api_takes(client, document, admin_headers):
    listing = operations(document)[("get", "/api/v1/users")]
    sort = next(p for p in listing["parameters"] if p["name"] == "sort")["schema"]
    assert "-created_at" in sort["enum"]
    for value in sort["enum"]:
        response = client.get(f"/api/v1/users?sort={value}", headers=admin_headers)
        assert response.status_code == 200, value
    for value in ("+id", "password_hash", "--id"):
        assert value not in sort["enum"]
        response = client.get(f"/api/v1/users?sort={value}", headers=admin_headers)
        assert response.status_code == 400, value


def test_every_csrf_refusal_is_documented(client, document):
    """A browser route's state change without a CSRF token (a form, or no JSON) is a 403."""
    for (method, path), op in operations(document).items():
        if method == "get" or not path.startswith("/auth/"):
            continue
        response = client.open(sample_url(path), method=method, data={"x": "1"})
        assert response.status_code == 403, (method, path)
        assert "403" in op["responses"], (method, path)


def test_request_bodies_come_from_the_validating_models(document):
    login = operations(document)[("post", "/api/v1/auth/login")]
    ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"email", "password"}
    assert schema["additionalProperties"] is False


def test_responses_use_the_envelopes(document):
    get_user = operations(document)[("get", "/api/v1/users/{user_id}")]
    ok = get_user["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    envelope = document["components"]["schemas"][ok.rsplit("/", 1)[1]]
    assert set(envelope["properties"]) == {"success", "data", "message", "timestamp"}
    error = get_user["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/ErrorEnvelope")
    assert get_user["security"] == [{"bearerAuth": []}]
    assert get_user["parameters"][0] == {
        "name": "user_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }


def test_list_query_parameters_are_described(document):
    listing = operations(document)[("get", "/api/v1/users")]
    names = {p["name"] for p in listing["parameters"] if p["in"] == "query"}
    assert names == {"page", "per_page", "sort", "q", "role", "is_active"}


def test_the_user_resource_exposes_no_secret(document):
    user = document["components"]["schemas"]["UserRead"]
    assert set(user["properties"]) == USER_FIELDS


def test_docs_page_and_its_assets_are_served_locally(client):
    page = client.get("/docs", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in html
    assert "/docs/assets/swagger-ui.css" in html
    assert "http" not in html.split("<body>")[1].replace("http-equiv", ""), "no external URL"
    for url in (
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/static/js/docs.js",
    ):
        with client.get(url) as response:  # file responses must be closed
            assert response.status_code == 200


def test_browser_routes_document_the_session_cookie_as_an_alternative(document):
    """Without a token, /auth routes take the session cookie (with CSRF, else 403), so the
    Authorization header is not required there; /api/v1 takes only the Bearer token."""
    ops = operations(document)
    assert ops[("post", "/auth/logout")]["security"] == [{"bearerAuth": []}, {"browserSession": []}]
    assert ops[("get", "/api/v1/users")]["security"] == [{"bearerAuth": []}]
    cookie = document["components"]["securitySchemes"]["browserSession"]
    assert cookie == cookie | {"type": "apiKey", "in": "cookie", "name": "session"}


def test_a_link_token_fits_in_a_request_line(client, document):
    """gunicorn refuses a request line over 4094 bytes with its own 414 page: the token of a
    verification link is documented (and checked) short enough, in URL-safe characters."""
    verify = operations(document)[("get", "/auth/verify-email")]
    token = next(p for p in verify["parameters"] if p["name"] == "token")["schema"]
    assert token["maxLength"] <= 512
    assert token["pattern"] == "^[A-Za-z0-9_.~-]+$"
    for bad in ("a" * 513, "a/b", "ü"):
        response = client.get("/auth/verify-email", query_string={"token": bad})
        assert response.status_code == 400
        assert response.json["error"]["code"] == "VALIDATION_ERROR"


def test_vendored_swagger_ui_is_the_version_it_says_and_reads_openapi_3_1():
    """static/vendor/swagger-ui is what scripts/update_swagger_ui.sh wrote: Swagger UI 5 or later
    (4 cannot read OpenAPI 3.1), its bundle built as the recorded version, its licences beside."""
    version = (SWAGGER_ASSETS / "VERSION").read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    assert int(version.split(".")[0]) >= 5
    bundle = (SWAGGER_ASSETS / "swagger-ui-bundle.js").read_text(encoding="utf-8")
    assert f'PACKAGE_VERSION:"{version}"' in bundle
    assert "Apache License" in (SWAGGER_ASSETS / "LICENSE").read_text()
    for name in ("NOTICE", "swagger-ui-bundle.js.LICENSE.txt", "swagger-ui.css"):
        assert (SWAGGER_ASSETS / name).is_file(), name
    # Nothing loads flask-openapi3(-swagger) any more: it is no dependency of ours.
    assert not {"flask_openapi3", "flask_openapi3_swagger"} & set(sys.modules)
