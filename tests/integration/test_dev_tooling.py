"""The contributor tooling: pre-commit runs local hooks only (no network at commit time) and
Dependabot watches every ecosystem the project pins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_pre_commit_config_is_valid_and_offline() -> None:
    config_path = ROOT / ".pre-commit-config.yaml"
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(config_path)],
        check=True,
        capture_output=True,
    )
    config = yaml.safe_load(config_path.read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    assert set(hooks) == {"ruff", "ruff-format", "mypy", "semgrep"}
    for hook in hooks.values():
        assert hook["language"] == "system"
        # Tools come from the environments `make lint` and `make security` build.
        assert hook["entry"].startswith((".venv/bin/", ".venv-security/bin/")), hook["entry"]
    assert "security/rules" in hooks["semgrep"]["entry"]


def test_pre_commit_ruff_hook_runs_without_network(tmp_path: Path) -> None:
    """The ruff hook, run by pre-commit in a fresh repository, fails a bad file and passes a
    good one, with nothing but the local tools."""
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "ruff").symlink_to(Path(sys.executable).parent / "ruff")
    (tmp_path / ".pre-commit-config.yaml").write_text(
        (ROOT / ".pre-commit-config.yaml").read_text()
    )
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "module.py").write_text("import os\n")  # F401: unused import
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PRE_COMMIT_HOME": str(tmp_path / "pc")}

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(command), cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )

    run("git", "init", "-q")
    run("git", "add", ".")
    hook = (sys.executable, "-m", "pre_commit", "run", "ruff", "--all-files")
    failed = run(*hook)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "F401" in failed.stdout
    (tmp_path / "module.py").write_text("import os\n\nSEP = os.sep\n")
    run("git", "add", ".")
    passed = run(*hook)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_dependabot_watches_every_pinned_ecosystem() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    watched = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}

    def folders(pattern: str) -> set[str]:
        return {
            "/" + path.parent.relative_to(ROOT).as_posix().removeprefix(".")
            for path in ROOT.glob(f"**/{pattern}")
            if not any(part.startswith((".venv", "node_modules")) for part in path.parts)
        }

    assert {("pip", folder) for folder in folders("requirements*.txt")} <= watched
    assert {("npm", folder) for folder in folders("package.json")} <= watched
    assert ("github-actions", "/") in watched
