"""A real redis-server on 127.0.0.1 for the tests and the workers benchmark: started on a free
port, never persisted, stopped at the end. No fake Redis; `.ci/run` installs Debian's
redis-server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

START_TIMEOUT = 10.0
"""Seconds a new server has to answer PING."""
START_TRIES = 3
"""Ports tried before giving up: another process may take a free port before the server does."""
MISSING = (
    "redis-server is not installed: the Redis tests and the workers benchmark need a real "
    "server on 127.0.0.1. Install it (apt-get install -y redis-server; CI's .ci/run does) "
    "and run them again."
)


class RedisServerError(RuntimeError):
    """redis-server is not installed, or did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def redis_server() -> Iterator[str]:
    """A redis-server on 127.0.0.1 without persistence, in a temporary folder; yields its URL
    once it answers PING and stops it on exit. Raises RedisServerError, saying how to install
    it, when redis-server is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisServerError(MISSING)
    with tempfile.TemporaryDirectory(prefix="parknews-redis-") as folder:
        for _ in range(START_TRIES):
            port = free_port()
            process = subprocess.Popen(
                [
                    binary,
                    *("--bind", "127.0.0.1", "--port", str(port), "--dir", folder),
                    *("--save", "", "--appendonly", "no", "--protected-mode", "yes"),
                    *("--daemonize", "no", "--loglevel", "warning"),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            url = f"redis://127.0.0.1:{port}/0"
            if _answers(url, process):
                break
            _stop(process)
        else:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RedisServerError(f"redis-server did not start on 127.0.0.1: {output[-2000:]}")
        try:
            yield url
        finally:
            _stop(process)


def _answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    """Whether the server of `process` answers PING at `url` before START_TIMEOUT."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if client.ping():
                    return True
            except redis.ConnectionError:
                time.sleep(0.05)
        return False
    finally:
        client.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
