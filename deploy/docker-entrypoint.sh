#!/bin/sh
# Container entrypoint: apply the database migrations, then exec the command (`python serve.py`,
# which execs granian) so the server runs as PID 1 and receives SIGTERM directly. RUN_MIGRATIONS=false skips the migrations where a
# separate job runs them (docker-compose `migrate` service, the Kubernetes Job, the ECS
# `migrate` container).
set -eu

if [ "${RUN_MIGRATIONS:-true}" = "true" ]; then
    flask db upgrade
fi

# Refuse to start when encrypted fields exist and FIELD_ENCRYPTION_KEY cannot open them
# (docs/decisions/0060-2fa-encryption-audit.md). CHECK_FIELD_KEYS=false skips it.
if [ "${CHECK_FIELD_KEYS:-true}" = "true" ]; then
    flask keys check
fi

exec "$@"
