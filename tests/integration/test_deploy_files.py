"""The exact commands the Dockerfile, its entrypoint and docker-compose.yml run, run here.

No Docker engine runs on this machine, so the commands are read from the files and run against
a fresh database (SQLite, or PostgreSQL on the PostgreSQL run): migrate, start the image's server
(granian through serve.py), then the container health checks themselves.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests import databases
from tests.apps import dispose_engines
from tests.factories import create_user
from tests.fault_services import throwaway_redis
from tests.mail_server import running_smtp_server, wait_for_messages
from tests.ops_support import (
    ROOT,
    free_port,
    start_server,
    stop_process,
    subprocess_env,
    throwaway_app,
    wait_for_http,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
WORKDIR = "/app"


def instruction(name: str) -> str:
    """The argument of a Dockerfile instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    match = re.search(rf"^{name}\s+(.+)$", joined, re.MULTILINE)
    assert match, f"no {name} in the Dockerfile"
    return match.group(1).strip()


def exec_form(argument: str) -> list[str]:
    command = json.loads(argument)
    assert isinstance(command, list), "use the exec form (a JSON array)"
    return [str(part) for part in command]


def dockerfile_env() -> dict[str, str]:
    """The ENV block's key=value pairs."""
    return dict(pair.split("=", 1) for pair in shlex.split(instruction("ENV")))


def local_path(command: list[str]) -> list[str]:
    """Paths inside the image (/app/...) as paths of this checkout."""
    return [
        str(ROOT / part[len(WORKDIR) + 1 :]) if part.startswith(f"{WORKDIR}/") else part
        for part in command
    ]


def healthcheck_command() -> list[str]:
    argument = instruction("HEALTHCHECK")
    return exec_form(argument[argument.index(" CMD ") + len(" CMD ") :])


def secrets_env() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": secrets.token_hex(32),
        # Production refuses to start without a way to send mail and a public URL for links.
        "MAIL_SERVER": "127.0.0.1",
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    }


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[databases.TestDatabase]:
    """An empty database nobody has migrated yet."""
    with databases.worker_database(f"deploy_{secrets.token_hex(3)}", tmp_path) as database:
        yield database


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        stop_process(process)


def start_container_command(
    env: dict[str, str], processes: list[subprocess.Popen[bytes]], log: Path
) -> int:
    """ENTRYPOINT + CMD of the Dockerfile, on a free 127.0.0.1 port; returns the port."""
    port = free_port()
    command = local_path(exec_form(instruction("ENTRYPOINT")) + exec_form(instruction("CMD")))
    env = {"GRANIAN_WORKERS": "2", **env, "PORT": str(port), "GRANIAN_HOST": "127.0.0.1"}
    with log.open("ab") as output:
        process = start_server(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    processes.append(process)
    wait_for_http(f"http://127.0.0.1:{port}/health", timeout=40, process=process)
    assert served_by_granian(process.pid, workers=int(env["GRANIAN_WORKERS"]))
    return port


def served_by_granian(pid: int, workers: int) -> bool:
    """The entrypoint's shell and serve.py replaced themselves (exec): PID `pid` is granian's
    main process, with `workers` worker processes."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return command[1:3] == [b"-m", b"granian"] and len(children) == workers


def assert_ready(port: int) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=5) as response:
        assert response.status == 200
        assert json.load(response)["status"] == "healthy"


def test_the_image_entrypoint_migrates_then_serves_and_its_healthcheck_passes(
    fresh_database, processes, tmp_path
):
    env = subprocess_env(
        **dockerfile_env(),
        **secrets_env(),
        DATABASE_URL=fresh_database.url,
        REDIS_URL="redis://127.0.0.1:6379/5",  # every deployment sets it (test_rate_limit_config)
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    assert env["FLASK_CONFIG"] == "production"
    port = start_container_command(env, processes, tmp_path / "container.log")
    assert_ready(port)  # only true when the entrypoint's `flask db upgrade` ran
    check = subprocess.run(
        healthcheck_command(), env={**env, "PORT": str(port)}, cwd=ROOT, timeout=15, check=False
    )
    assert check.returncode == 0


def compose_environment(service: str, overrides: dict[str, str]) -> dict[str, str]:
    """A service's environment with `${...}` interpolations replaced by test values."""
    environment = {
        key: str(value) for key, value in COMPOSE["services"][service]["environment"].items()
    }
    resolved = {key: overrides.get(key, value) for key, value in environment.items()}
    unresolved = [key for key, value in resolved.items() if "${" in value]
    assert not unresolved, f"give test values for {unresolved}"
    return resolved


def test_compose_runs_migrate_before_web_and_web_becomes_healthy(
    fresh_database, processes, tmp_path
):
    services = COMPOSE["services"]
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["web"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    overrides = {
        **secrets_env(),
        "DATABASE_URL": fresh_database.url,
        "REDIS_URL": "redis://127.0.0.1:6379/5",
        "LOG_LEVEL": "INFO",
        "GRANIAN_WORKERS": "2",
    }
    base = subprocess_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"))
    migrate_env = {**base, **compose_environment("migrate", overrides)}
    migrate = subprocess.run(
        services["migrate"]["command"],
        env=migrate_env,
        cwd=ROOT,
        timeout=60,
        check=False,
        capture_output=True,
    )
    assert migrate.returncode == 0, migrate.stderr.decode()[-2000:]

    web_env = {**base, **dockerfile_env(), **compose_environment("web", overrides)}
    assert web_env["RUN_MIGRATIONS"] == "false"
    port = start_container_command(web_env, processes, tmp_path / "web.log")
    assert_ready(port)
    check = subprocess.run(
        services["web"]["healthcheck"]["test"][1:],
        env={**web_env, "PORT": str(port)},
        cwd=ROOT,
        timeout=15,
        check=False,
    )
    assert check.returncode == 0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/detailed", timeout=5) as response:
        assert json.load(response)["checks"]["cache"]["status"] == "healthy"


def test_kubernetes_probes_and_migration_job_match_the_app():
    manifests = {
        path.stem: yaml.safe_load(path.read_text())
        for path in (ROOT / "deploy" / "k8s").glob("*.yaml")
    }
    container = manifests["deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["resources"]["limits"] and container["resources"]["requests"]
    job = manifests["migration-job"]["spec"]["template"]["spec"]["containers"][0]
    assert job["command"] == COMPOSE["services"]["migrate"]["command"] == ["flask", "db", "upgrade"]
    spec = manifests["deployment"]["spec"]["template"]["spec"]
    kill_timeout = int(manifests["configmap"]["data"]["GRANIAN_WORKERS_KILL_TIMEOUT"])
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert spec["terminationGracePeriodSeconds"] > pre_stop + kill_timeout


def test_kubernetes_probes_send_a_host_production_trusts(database):
    from app import create_app

    manifests = {
        path.stem: yaml.safe_load(path.read_text())
        for path in (ROOT / "deploy" / "k8s").glob("*.yaml")
    }
    container = manifests["deployment"]["spec"]["template"]["spec"]["containers"][0]
    settings = {
        **secrets_env(),
        **manifests["configmap"]["data"],
        "DATABASE_URL": database.url,
        "REDIS_URL": "redis://127.0.0.1:6379/5",  # from the Secret, like DATABASE_URL
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(name, str(value))
        application = create_app("production")
    client = application.test_client()
    try:
        assert client.get("/health", headers={"Host": "10.1.2.3:8000"}).status_code == 400
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            request = container[probe]["httpGet"]
            headers = {item["name"]: item["value"] for item in request.get("httpHeaders", [])}
            assert "Host" in headers, f"{probe} would send the pod IP"
            response = client.get(request["path"], headers=headers)
            assert response.status_code != 400, f"{probe}: {response.get_data(as_text=True)}"
    finally:
        dispose_engines(application)


def test_the_ecs_checker_accepts_the_task_definition_and_catches_mistakes():
    from scripts.check_ecs_task import check_task_definition, main

    path = ROOT / "deploy" / "ecs" / "task-definition.json"
    task = json.loads(path.read_text())
    assert check_task_definition(task) == []
    assert main([str(path)]) == 0
    web = task["containerDefinitions"][1]
    web["healthCheck"]["command"] = ["CMD-SHELL", "curl -f http://localhost:8000/ || exit 1"]
    web["environment"].append({"name": "SECRET_KEY", "value": "oops"})
    web["dependsOn"].append({"containerName": "ghost", "condition": "START"})
    del web["portMappings"]
    del task["cpu"]
    problems = check_task_definition(task)
    assert "missing cpu" in problems
    assert any("curl" in problem for problem in problems)
    assert any("/health" in problem for problem in problems)
    assert any("must come from secrets" in problem for problem in problems)
    assert any("ghost" in problem for problem in problems)
    assert any("portMappings" in problem for problem in problems)


def test_the_compose_mail_worker_sends_what_a_web_process_queued(
    fresh_database, processes, tmp_path
):
    """The `worker` service's command, with its environment and the image's entrypoint, run as
    a process against a real Redis and SMTP server: a forgot-password queued by the web sends."""
    worker = COMPOSE["services"]["worker"]
    assert worker["command"] == ["flask", "mail", "worker"]
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    with throwaway_redis() as queue, running_smtp_server() as smtp:
        overrides = {
            **secrets_env(),
            "DATABASE_URL": fresh_database.url,
            "REDIS_URL": queue.url,
            "MAIL_SERVER": smtp.host,
            "MAIL_PORT": str(smtp.port),
            "LOG_LEVEL": "INFO",
        }
        base = subprocess_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"))
        env = {**base, **dockerfile_env(), **compose_environment("worker", overrides)}
        migrate = subprocess.run(
            ["flask", "db", "upgrade"], env=env, cwd=ROOT, timeout=60, check=False
        )
        assert migrate.returncode == 0
        command = local_path(exec_form(instruction("ENTRYPOINT")) + worker["command"])
        with (tmp_path / "worker.log").open("ab") as log:
            processes.append(start_server(command, cwd=ROOT, env=env, stdout=log, stderr=log))
        with throwaway_app(fresh_database.url, MAIL_QUEUE="redis", REDIS_URL=queue.url) as web:
            create_user(web, email="worker@example.com")
            response = web.test_client().post(
                "/api/v1/auth/forgot-password", json={"email": "worker@example.com"}
            )
            assert response.status_code == 202
            (mail,) = wait_for_messages(smtp, 1, timeout=30)
    assert mail.envelope_to == ["worker@example.com"]
    assert "/auth/reset-password?token=" in mail.text


def test_the_mail_worker_runs_in_kubernetes_and_ecs_with_the_compose_command():
    worker = yaml.safe_load((ROOT / "deploy" / "k8s" / "worker-deployment.yaml").read_text())
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    assert container["args"] == COMPOSE["services"]["worker"]["command"]
    assert "command" not in container, "the image's entrypoint (key check) runs first"
    names = {item["name"] for item in container["env"]}
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "JWT_SECRET_KEY"} <= names

    from scripts.check_ecs_task import check_task_definition

    task = json.loads((ROOT / "deploy" / "ecs" / "worker-task-definition.json").read_text())
    assert check_task_definition(task) == []
    (ecs_worker,) = task["containerDefinitions"]
    assert ecs_worker["command"] == COMPOSE["services"]["worker"]["command"]
    ecs_worker["secrets"] = [s for s in ecs_worker["secrets"] if s["name"] != "REDIS_URL"]
    ecs_worker["portMappings"] = [{"containerPort": 8000}]
    problems = check_task_definition(task)
    assert any("needs REDIS_URL" in problem for problem in problems)
    assert any("serves no HTTP" in problem for problem in problems)


RECYCLING = ("GRANIAN_WORKERS_LIFETIME", "GRANIAN_WORKERS_MAX_RSS", "GUNICORN_MAX_REQUESTS")


def test_every_deployment_runs_the_images_server_and_recycles_no_healthy_worker():
    """Compose, Kubernetes and ECS run the image's command (granian through serve.py, the server
    docs/performance.md measures) and set nothing that restarts healthy workers."""
    from serve import defaults

    assert exec_form(instruction("CMD")) == ["python", "serve.py"]
    assert not set(RECYCLING) & defaults({}).keys()
    assert defaults({})["GRANIAN_RESPAWN_FAILED_WORKERS"] == "true"
    web = COMPOSE["services"]["web"]
    assert "command" not in web and "entrypoint" not in web
    k8s = {
        path.stem: yaml.safe_load(path.read_text())
        for path in (ROOT / "deploy" / "k8s").glob("*.yaml")
    }
    (container,) = k8s["deployment"]["spec"]["template"]["spec"]["containers"]
    assert "command" not in container and "args" not in container
    ecs = json.loads((ROOT / "deploy" / "ecs" / "task-definition.json").read_text())
    ecs_web = next(c for c in ecs["containerDefinitions"] if c["essential"])
    assert "command" not in ecs_web and "entryPoint" not in ecs_web
    settings = [
        set(web["environment"]),
        set(k8s["configmap"]["data"]),
        {item["name"] for item in container["env"]},
        {item["name"] for item in ecs_web["environment"]},
    ]
    for names in settings:
        assert not names & set(RECYCLING)
        assert not any(name.startswith("GUNICORN_") for name in names), "granian runs"
    assert ecs_web["stopTimeout"] > int(defaults({})["GRANIAN_WORKERS_KILL_TIMEOUT"])
