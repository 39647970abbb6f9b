"""Offline checks of an ECS task definition (no AWS access here): shape, required keys, wiring.

python scripts/check_ecs_task.py deploy/ecs/task-definition.json \
    deploy/ecs/worker-task-definition.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REQUIRED_TASK_KEYS = ("family", "containerDefinitions", "networkMode", "cpu", "memory")
REQUIRED_CONTAINER_KEYS = ("name", "image", "essential", "logConfiguration")
REQUIRED_SECRETS = {"DATABASE_URL", "SECRET_KEY", "JWT_SECRET_KEY"}
# Containers that serve no HTTP: no port, no /health check (they exit when they lose Redis).
WORKER_COMMANDS = (["flask", "mail", "worker"],)


def check_container(container: dict[str, Any], names: set[str]) -> list[str]:
    """Problems with one container definition."""
    name = container.get("name", "?")
    problems = [f"{name}: missing {key}" for key in REQUIRED_CONTAINER_KEYS if key not in container]
    secrets = {item.get("name") for item in container.get("secrets", [])}
    if missing := REQUIRED_SECRETS - secrets:
        problems.append(f"{name}: secrets missing {sorted(missing)}")
    plain = {item.get("name") for item in container.get("environment", [])}
    if leaked := plain & (REQUIRED_SECRETS | {"REDIS_URL", "SENTRY_DSN"}):
        problems.append(f"{name}: {sorted(leaked)} must come from secrets, not environment")
    problems += [
        f"{name}: dependsOn unknown container {dep.get('containerName')}"
        for dep in container.get("dependsOn", [])
        if dep.get("containerName") not in names
    ]
    if container.get("command") in WORKER_COMMANDS:
        if "REDIS_URL" not in secrets:
            problems.append(f"{name}: the mail worker needs REDIS_URL (from secrets)")
        if container.get("portMappings"):
            problems.append(f"{name}: the mail worker serves no HTTP; remove its portMappings")
    elif container.get("essential"):
        command = " ".join(container.get("healthCheck", {}).get("command", []))
        if "/health" not in command:
            problems.append(f"{name}: an essential container needs a /health healthCheck")
        if "curl" in command:
            problems.append(f"{name}: the slim image has no curl; use python -c")
        if not container.get("portMappings"):
            problems.append(f"{name}: no portMappings")
    return problems


def check_task_definition(task: dict[str, Any]) -> list[str]:
    """Every problem found, one sentence each; empty when the file is fine."""
    problems = [f"missing {key}" for key in REQUIRED_TASK_KEYS if key not in task]
    if "FARGATE" in task.get("requiresCompatibilities", []) and task.get("networkMode") != "awsvpc":
        problems.append("FARGATE requires networkMode awsvpc")
    containers = task.get("containerDefinitions", [])
    names = {container.get("name", "?") for container in containers}
    if not any(container.get("essential") for container in containers):
        problems.append("no essential container")
    for container in containers:
        problems += check_container(container, names)
    return problems


def main(paths: list[str]) -> int:
    """Check each file; print the problems; exit 1 when there are any."""
    failed = False
    for path in paths:
        problems = check_task_definition(json.loads(Path(path).read_text()))
        for problem in problems:
            print(f"{path}: {problem}")  # noqa: T201 - a command-line report
        failed = failed or bool(problems)
        if not problems:
            print(f"{path}: ok")  # noqa: T201 - a command-line report
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
