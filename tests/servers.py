"""gunicorn serving ``tests.apps.race_app`` in worker processes, for the race tests and the
plays benchmark (``bench/plays.py``): started in its own process group, its output in a file."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = "tests.apps.race_app:create_app()"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def gunicorn() -> list[str]:
    beside = Path(sys.executable).with_name("gunicorn")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "gunicorn"]


def spawn(
    *,
    database_url: str,
    campaigns: Path,
    secret: str,
    log_path: Path,
    workers: int,
    timeout: int,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn with ``workers`` sync workers of one thread each (separate processes, as in
    production) on 127.0.0.1; the process and its port. Stop it with :func:`stop`."""
    port = port or free_port()
    env = {
        **os.environ,
        **(env or {}),
        "GAMIFY_DATABASE_URL": database_url,
        "GAMIFY_CAMPAIGNS": str(campaigns),
        "GAMIFY_SECRET_KEY": secret,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [
        *gunicorn(),
        *("-w", str(workers), "-k", "sync", "--threads", "1"),
        *("-b", f"127.0.0.1:{port}", "--timeout", str(timeout), "--backlog", "2048"),
        APP,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    return process, port


def stop(process: subprocess.Popen[bytes]) -> None:
    """TERM the whole process group, KILL it if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
