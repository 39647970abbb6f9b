"""Starting the servers under test, driving them with wrk, and reading what it reports."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WORKERS = os.cpu_count() or 2
# Per worker, granian's blocking threads, as serve.py ships them (test_serve.py holds the two
# equal): fewer threads contend less for the GIL (decisions 0043, 0140).
THREADS = 2

# granian as the app's alternative server and the references' server (module path last). The
# server the container ships is read from the Dockerfile by bench.py.
SERVERS: dict[str, list[str]] = {
    "granian": [
        "granian",
        "--interface",
        "wsgi",
        "--workers",
        str(WORKERS),
        "--blocking-threads",
        str(THREADS),
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ],
}


@dataclass
class Result:
    requests: int = 0
    rps: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p99: float = 0.0
    errors: int = 0
    rss_mib: float = 0.0
    output: str = field(default="", repr=False)


def command(
    server: str, module: str, port: int, bin_dir: Path, *, factory: bool = False
) -> list[str]:
    """The command line serving WSGI `module` (e.g. `app:application`) on `port`; with
    `factory`, `module` names a function that builds the WSGI callable."""
    base = SERVERS[server]
    executable = str(bin_dir / base[0])
    options = ["--factory"] if factory else []
    return [executable, *base[1:], *options, "--host", "127.0.0.1", "--port", str(port), module]


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server at {url} did not start") from None
            time.sleep(0.2)


def settle(url: str, timeout: float = 60) -> None:
    """Wait until the server answers /health within a second: the backlog is served."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.5)


@contextmanager
def running(cmd: list[str], env: dict[str, str], url: str, cwd: Path, log: Path) -> Iterator[int]:
    """Run a server in its own process group until the block ends; yields its pid."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=out, start_new_session=True
        )
    try:
        wait_until_up(url, process)
        yield process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def descendants(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            children.append(int(child))
            children.extend(descendants(int(child)))
    return children


def rss_mib(pid: int) -> float:
    """The resident sets of all the server's processes (master and workers) added up, in MiB."""
    total = 0
    for proc in [pid, *descendants(pid)]:
        try:
            status = Path(f"/proc/{proc}/status").read_text()
        except OSError:
            continue
        if match := re.search(r"VmRSS:\s+(\d+) kB", status):
            total += int(match.group(1))
    return total / 1024


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * UNITS[match.group(2)] if match else 0.0


def parse_wrk(output: str) -> Result:
    """Requests, rate, latency percentiles and errors from `wrk --latency` output."""
    result = Result(output=output)
    percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", output, re.MULTILINE))
    result.p50, result.p90, result.p99 = (
        _ms(percentiles.get(p, "0ms")) for p in ("50", "90", "99")
    )
    if match := re.search(r"(\d+) requests in", output):
        result.requests = int(match.group(1))
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result.rps = float(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        result.errors += sum(int(n) for n in match.groups())
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result.errors += int(match.group(1))
    return result


def wrk(url: str, script: str, connections: int, seconds: float, env: dict[str, str]) -> Result:
    """One bounded wrk run from loopback."""
    threads = min(2, connections)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(HERE / "wrk" / script),
        url,
    ]
    run_env = {**env, "BENCH_WRK_DIR": str(HERE / "wrk"), "BENCH_WRK_THREADS": str(threads)}
    completed = subprocess.run(
        cmd, env=run_env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    return parse_wrk(completed.stdout + completed.stderr)
