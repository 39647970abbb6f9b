#!/bin/sh
# Container entrypoint: apply the database migrations, then exec the command (gunicorn) so it
# runs as PID 1 and receives SIGTERM directly. RUN_MIGRATIONS=false skips the migrations where a
# separate job runs them (docker-compose `migrate` service, the Kubernetes Job, the ECS
# `migrate` container).
set -eu

if [ "${RUN_MIGRATIONS:-true}" = "true" ]; then
    flask db upgrade
fi

exec "$@"
