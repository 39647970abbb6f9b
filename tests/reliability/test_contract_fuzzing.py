"""Contract fuzzing: schemathesis generates requests from /api/v1/openapi.json and checks every
answer against the document (status codes, content types, response schemas, no server errors),
anonymously, as a user and as an administrator."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.factories import signed_in_user

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def fuzz_every_operation(app, headers):
    """Run each operation's generated cases; collect failures instead of stopping at one."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @FUZZ_SETTINGS
        def run(case):
            case.call_and_validate(headers=headers)

        try:
            run()
        except Exception as exc:  # report every operation's failure together
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_api_conforms_anonymously(app):
    fuzz_every_operation(app, headers={})


def test_api_conforms_as_a_user(app, client):
    user = signed_in_user(app, client, email="fuzz-user@example.com")
    fuzz_every_operation(app, headers=user.headers)


def test_api_conforms_as_an_admin(app, client):
    admin = signed_in_user(app, client, email="fuzz-admin@example.com", role="admin")
    fuzz_every_operation(app, headers=admin.headers)
