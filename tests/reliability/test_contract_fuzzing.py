"""Contract fuzzing: schemathesis generates requests from /api/v1/openapi.json and checks every
answer against the document (status codes, content types, response schemas, no server errors),
anonymously, as a user and as an administrator: in-process through its Python API, and over
HTTP with its command line and every check against gunicorn in the production configuration.
The old API's /v1/openapi.json is fuzzed in-process the same way."""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.factories import PASSWORD, create_user, signed_in_user
from tests.fault_services import throwaway_redis
from tests.integration.v1_support import v1_user
from tests.ops_support import gunicorn_servers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Operations that set a password may refuse a schema-valid one: the policy also rejects the
# 143,425 common passwords and the account's own email, which JSON Schema cannot express (the
# schema documents it in the field's description). Only the "valid data accepted" check is
# relaxed there; every other check (status codes, response schemas, 5xx) still runs.
PASSWORD_SETTING = {
    "POST /auth/register",
    "POST /auth/password",
    "POST /auth/reset-password",
    "POST /api/v1/users",
    "PUT /api/v1/users/{user_id}",
    "PATCH /api/v1/users/{user_id}",
    "PUT /api/v1/users/me",
    "PATCH /api/v1/users/me",
    "POST /api/v1/auth/password",
    "POST /api/v1/auth/reset-password",
    # These check the account's password (400 when wrong, like the current_password above); a
    # form cannot send JSON's null, so a generated `{"password": null, "code": …}` arrives as
    # both fields.
    "POST /api/v1/auth/2fa/recovery-codes",
    "POST /auth/2fa/recovery-codes",
    # Not a new password, but the same limit: a schema-valid `current_password` is refused (400)
    # unless it is the account's, and a schema-valid new address may be the caller's own.
    "POST /api/v1/auth/email",
    "POST /auth/email",
}

# Operations that add a WebAuthn credential: a schema-valid one must still be made by an
# authenticator over a fresh challenge, which JSON Schema cannot express (docs/passkeys.md). The
# sign-in ones refuse with 401, which the check allows.
SIGNED_CREDENTIAL = {
    "POST /api/v1/auth/passkeys/register",
    "POST /auth/passkeys/register",
}
RELAXED = PASSWORD_SETTING | SIGNED_CREDENTIAL

# The old contract's rules are mostly not JSON Schema (an email's syntax, a letter and a digit in
# a password, an ObjectId naming a user, in Joi's words): /v1 refuses many schema-valid bodies
# with 400, so "valid data accepted" is relaxed for all of it; every other check still runs.
V1_DOCUMENT = "/v1/openapi.json"

FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def run_cases(operation, headers, *, relax=False):
    """Generate and check one operation's cases."""
    relax = relax or operation.label in RELAXED
    relaxed = [positive_data_acceptance] if relax else []

    @given(case=operation.as_strategy())
    @FUZZ_SETTINGS
    def run(case):
        case.call_and_validate(headers=headers, excluded_checks=relaxed)

    run()


def fuzz_every_operation(app, headers, *, base_url=None, document="/api/v1/openapi.json"):
    """Run each operation's generated cases (in-process, or over HTTP when `base_url` is given);
    collect failures instead of stopping at the first."""
    if base_url is None:
        schema = schemathesis.openapi.from_wsgi(document, app)
    else:
        schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            run_cases(operation, headers, relax=document == V1_DOCUMENT)
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


def test_v1_conforms_anonymously(app):
    fuzz_every_operation(app, headers={}, document=V1_DOCUMENT)


def test_v1_conforms_as_a_user(app, client):
    user = v1_user(app, client, email="fuzz-v1-user@example.com")
    fuzz_every_operation(app, headers=user.headers, document=V1_DOCUMENT)


def test_v1_conforms_as_an_admin(app, client):
    admin = v1_user(app, client, email="fuzz-v1-admin@example.com", role="admin")
    fuzz_every_operation(app, headers=admin.headers, document=V1_DOCUMENT)


def production_settings(database_url: str, redis_url: str) -> dict[str, str]:
    """The production configuration as docs/deployment.md runs it, on the test database."""
    return {
        "FLASK_CONFIG": "production",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": secrets.token_hex(32),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",  # a trusted host; the port is not checked
        "MAIL_BACKEND": "none",
        # OWASP's minimum, which production accepts: the run hashes hundreds of passwords.
        "ARGON2_MEMORY_COST": "19456",
        "ARGON2_TIME_COST": "2",
        "ARGON2_PARALLELISM": "1",
        "GUNICORN_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
    }


def schemathesis_config(directory: Path) -> Path:
    """The CLI's configuration: the password-setting and credential relaxations, per operation."""
    names = "|".join(re.escape(label) for label in sorted(RELAXED))
    path = directory / "schemathesis.toml"
    path.write_text(
        "[[operations]]\n"
        f"include-name-regex = '^({names})$'\n"
        "checks.positive_data_acceptance.enabled = false\n"
    )
    return path


def start_schemathesis(base: str, token: str, config: Path, *filters: str) -> subprocess.Popen:
    """`st run` with every check and every phase, as a user would run it against the service."""
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"),
        # Every check is on by default (`--checks all` would also undo the relaxation above).
        *(f"{base}/api/v1/openapi.json", "--url", base),
        *("-H", f"Authorization: Bearer {token}", "--max-examples", "5"),
        *("--generation-deterministic", "--no-color", *filters),
    ]
    return subprocess.Popen(
        command,
        cwd=config.parent,  # its cache directory goes there, not into the checkout
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_every_check_passes_over_http_against_production_settings(app, database, tmp_path):
    """schemathesis with all checks (status codes, schemas, headers, Allow, missing auth,
    unsupported methods, negative data, stateful links) against gunicorn with gunicorn.conf.py,
    production settings and Redis, as a user and as an admin; ~100 s on 2 cores."""
    user = create_user(app, email="http-user@example.com")
    admin = create_user(app, email="http-admin@example.com", role="admin")
    config = schemathesis_config(tmp_path)
    with throwaway_redis() as redis, gunicorn_servers(tmp_path) as start:
        _, port = start(**production_settings(database.url, redis.url))
        base = f"http://127.0.0.1:{port}"
        # Everyone signs in before any fuzzing (failed logins count against the address), and
        # signing out gets a session of its own: it ends the token it is called with.
        tokens = [sign_in(base, account) for account in (user, admin, user)]
        runs = {
            "as a user": start_schemathesis(
                base, tokens[0], config, "--exclude-path-regex", "logout"
            ),
            "as an admin": start_schemathesis(
                base, tokens[1], config, "--exclude-path-regex", "logout"
            ),
            "signing out": start_schemathesis(
                base, tokens[2], config, "--include-path-regex", "logout"
            ),
        }
        outputs = {name: run.communicate(timeout=300)[0] for name, run in runs.items()}
    failed = {name: outputs[name][-6000:] for name, run in runs.items() if run.returncode != 0}
    assert not failed, "\n\n".join(f"=== {name}\n{output}" for name, output in failed.items())


def sign_in(base: str, account) -> str:
    """An access token of `account` from the running server."""
    response = httpx.post(
        f"{base}/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    return response.json()["data"]["access_token"]
