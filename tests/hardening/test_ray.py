"""Hardening (issue 22.8), a Ray address that does not answer: Ray's own client waits on it for minutes
and hears neither Ctrl-C nor SIGTERM meanwhile. `order similarity --ray-address` fails in one line, exit 2,
within 30 s; Ctrl-C and SIGTERM while it waits end the run at once (exit 130, one line); nothing is
written. Each case runs in a fresh interpreter, as a user's does (a Ray client left waiting in the test
process would hold up the tests that start a local runtime)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_subprocess

pytest.importorskip("ray")
pytest.importorskip("numba")


class SilentServer:
    """A loopback TCP port that accepts every connection and never says a word (a firewall, a wrong
    service, a cluster head that hangs)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def order_args(small_catalog: Path, tmp_path: Path, address: str) -> list[object]:
    import numpy as np

    from fomo_order.artifacts.embeddings import write_embeddings
    from fomo_order.catalog import load_catalog

    ids = load_catalog(small_catalog).concept_ids
    rows = np.random.default_rng(0).normal(size=(len(ids), 8)).astype(np.float32)
    embeddings = tmp_path / "e.npy"
    write_embeddings(embeddings, rows / np.linalg.norm(rows, axis=1, keepdims=True), ids, {"backend": "test"})
    return ["order", "similarity", small_catalog, "--embeddings", embeddings, "--device", "cpu",
            "--ray-address", address, "-o", tmp_path / "s.json"]


def assert_one_line(stderr: str, *mentions: str) -> None:
    """One error line, the last, and no traceback (a first run's "compiling search kernels" note may
    come before it)."""
    lines = stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in stderr, stderr
    for mention in mentions:
        assert mention in errors[0], errors[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_address_is_one_line_at_once(small_catalog, tmp_path) -> None:
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_subprocess(*order_args(small_catalog, tmp_path, address))
    assert result.returncode == 2
    assert time.monotonic() - started < 30
    assert_one_line(result.stderr, "--ray-address", f"cannot connect to the Ray cluster at '{address}'", "refused")
    assert not (tmp_path / "s.json").exists()


@pytest.mark.slow
def test_an_address_that_never_answers_is_one_line_within_30_s(small_catalog, tmp_path, silent_server) -> None:
    started = time.monotonic()
    result = run_subprocess(*order_args(small_catalog, tmp_path, silent_server.address))
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert elapsed < 30, elapsed
    mention = f"cannot connect to the Ray cluster at '{silent_server.address}'"
    assert_one_line(result.stderr, mention, "no answer within")
    assert silent_server.accepted, "the address was never tried"
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_end_the_wait(small_catalog, tmp_path, silent_server, signum) -> None:
    args = order_args(small_catalog, tmp_path, silent_server.address)
    command = [sys.executable, "-m", "fomo_order", *map(str, args)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        # the probe's connection; Ray's client starts waiting right after it (on the node's own address, so
        # this server does not see it)
        while not silent_server.accepted and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        time.sleep(3)
        assert process.poll() is None, process.communicate()
        sent = time.monotonic()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=15)
        assert time.monotonic() - sent < 5
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert_one_line(stderr, "interrupted")
    assert not (tmp_path / "s.json").exists()
