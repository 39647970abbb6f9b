"""The OpenAPI document describes every declared route from the validating models; /docs works
offline."""

import re
import sys

import pytest
from openapi_spec_validator import validate

from blueprints.endpoint import ENDPOINT_SPEC_ATTRIBUTE
from blueprints.openapi import SWAGGER_ASSETS
from tests.factories import USER_FIELDS

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


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def operations(document):
    return {
        (method, path): op for path, ops in document["paths"].items() for method, op in ops.items()
    }


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_contract_route_is_described(document):
    assert set(operations(document)) >= CONTRACT_ROUTES


def test_every_declared_route_is_in_the_document(app, document):
    declared = {
        (method.lower(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if hasattr(app.view_functions[rule.endpoint], ENDPOINT_SPEC_ATTRIBUTE)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert declared == set(operations(document))


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
