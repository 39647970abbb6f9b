"""Staging and production refuse rate limits counted per process unless that is chosen: with
4 workers and no shared storage, 4 times the documented number of guesses got through."""

from __future__ import annotations

import json

import pytest
import yaml

from config import ProductionConfig, StagingConfig
from tests.ops_support import ROOT
from tests.unit.test_config import PER_PROCESS_LIMITS_PROBLEM, SAFE_PRODUCTION

pytestmark = pytest.mark.unit

WITHOUT_REDIS = {k: v for k, v in SAFE_PRODUCTION.items() if k != "RATELIMIT_STORAGE_URI"}


@pytest.mark.parametrize("config_class", [ProductionConfig, StagingConfig])
def test_no_shared_limiter_storage_is_a_problem(config_class):
    assert config_class.validate_required_config(WITHOUT_REDIS) == [PER_PROCESS_LIMITS_PROBLEM]


@pytest.mark.parametrize(
    "settings",
    [
        {"REDIS_URL": "redis://cache:6379/0"},
        {"RATELIMIT_STORAGE_URI": "redis://limits:6379/1"},
        {"RATELIMIT_STORAGE_URI": "memory://"},  # chosen explicitly
        {"RATELIMIT_ENABLED": "false"},
    ],
    ids=["redis-url", "storage-uri", "memory-chosen", "limits-off"],
)
def test_shared_storage_or_an_explicit_choice_is_valid(settings):
    config = ProductionConfig({**WITHOUT_REDIS, **settings})
    assert config.validate() == []
    expected = settings.get("RATELIMIT_STORAGE_URI") or settings.get("REDIS_URL") or "memory://"
    assert expected == config.RATELIMIT_STORAGE_URI


LIMITER_STORAGE = {"REDIS_URL", "RATELIMIT_STORAGE_URI"}


def k8s_env_names(path: str) -> set[str]:
    """The variables a Kubernetes workload's container gets (its env and the ConfigMap)."""
    workload = yaml.safe_load((ROOT / path).read_text())
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    configmap = yaml.safe_load((ROOT / "deploy/k8s/configmap.yaml").read_text())
    names = {variable["name"] for variable in container.get("env", [])}
    if container.get("envFrom"):
        names |= set(configmap["data"])
    return names


def test_every_deployed_process_has_shared_or_chosen_limiter_storage():
    """Each process the deployment files start from the app's image in production (web,
    migrations, the mail worker, and any added later) would otherwise be refused at start-up."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app_image = compose["services"]["web"]["image"]
    app_services = [n for n, s in compose["services"].items() if s.get("image") == app_image]
    assert {"web", "migrate", "worker"} <= set(app_services)
    for service in app_services:
        assert compose["services"][service]["environment"]["REDIS_URL"], service

    workloads = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "deploy/k8s").glob("*.yaml"))
        if yaml.safe_load(path.read_text())["kind"] in {"Deployment", "Job"}
    ]
    assert len(workloads) >= 3, workloads
    for path in workloads:
        assert k8s_env_names(path) & LIMITER_STORAGE, path

    for path in sorted((ROOT / "deploy/ecs").glob("*task-definition.json")):
        task = json.loads(path.read_text())
        for definition in task["containerDefinitions"]:
            variables = definition.get("environment", []) + definition.get("secrets", [])
            assert {v["name"] for v in variables} & LIMITER_STORAGE, (path.name, definition["name"])
