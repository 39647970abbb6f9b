"""`make bench` measures the server the container ships by reading the Dockerfile's CMD: the
command must resolve to a program and files in this checkout, on the port the bench gives it."""

import sys
from pathlib import Path

import pytest

from tests.performance import bench

pytestmark = pytest.mark.unit

BIN = Path(sys.executable).parent


def test_the_dockerfile_command_runs_from_this_checkout(monkeypatch):
    monkeypatch.delenv("BENCH_SHIPPED_SERVER", raising=False)
    argv = bench.localise(bench.shipped_argv(), 18123, BIN)
    assert Path(argv[0]).is_file(), argv
    for arg in argv[1:]:
        if arg.endswith((".py", ".sh")):
            assert (bench.ROOT / arg).is_file() or Path(arg).is_file(), arg


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'CMD ["granian", "--host", "0.0.0.0", "--port", "8000", "app:x"]',
            ["granian", "--host", "127.0.0.1", "--port", "9", "app:x"],
        ),
        (
            'CMD ["gunicorn", "--bind=0.0.0.0:8000", "app:x"]',
            ["gunicorn", "--bind=127.0.0.1:9", "app:x"],
        ),
        ('CMD ["/app/deploy/serve.sh"]', [str(bench.ROOT / "deploy/serve.sh")]),
        ("CMD serve --port 8000", ["/bin/sh", "-c", "serve --port 8000"]),
    ],
)
def test_a_command_is_moved_to_the_bench_port(tmp_path, line, expected):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f'FROM python\nCMD ["old"]\n{line}\n')
    assert bench.localise(bench.dockerfile_command(dockerfile), 9, tmp_path) == expected


def test_bench_shipped_server_overrides_the_dockerfile(monkeypatch):
    monkeypatch.setenv(
        "BENCH_SHIPPED_SERVER", "granian --interface wsgi --port=8000 app:application"
    )
    assert bench.localise(bench.shipped_argv(), 9, Path("/nonexistent")) == [
        "granian",
        "--interface",
        "wsgi",
        "--port=9",
        "app:application",
    ]
