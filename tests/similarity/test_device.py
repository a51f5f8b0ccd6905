"""A search that stays on the CPU never loads torch (seconds of import), and a first run says that it
compiles kernels."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fomo_order._numba_cache import cached
from fomo_order.choices import cuda_impossible, resolve_device
from fomo_order.similarity import search, similarity_path, small
from tests.conftest import REPO, RecordingReporter

# Runs `order similarity` on the demo with the default --device auto and reports what got imported.
DRIVER = """
import json, sys
from fomo_order.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "torch": sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))}))
"""


def _demo_run(tmp_path: Path, environment: dict[str, str]) -> dict:
    out = tmp_path / "similarity_start1.json"
    argv = ["order", "similarity", "configs/demo/catalog.yaml", "--embeddings", "streams/embeddings.npy",
            "--quiet", "-o", str(out)]
    done = subprocess.run([sys.executable, "-c", DRIVER, *argv], cwd=REPO, env={**environment, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] in (0, None)
    assert out.read_bytes() == (REPO / "streams" / "similarity_start1.json").read_bytes()
    return report


def test_a_cpu_run_with_every_device_hidden_never_imports_torch(tmp_path: Path) -> None:
    assert _demo_run(tmp_path, {**os.environ, "CUDA_VISIBLE_DEVICES": ""})["torch"] == []


def test_a_cpu_run_on_a_machine_without_nvidia_devices_never_imports_torch(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    if not cuda_impossible():
        pytest.skip("this machine may have a CUDA device")
    assert _demo_run(tmp_path, dict(os.environ))["torch"] == []


@pytest.mark.parametrize("visible", ["", "-1", " -1,0"])
def test_hidden_devices_need_no_torch_to_decide(monkeypatch, visible: str) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    monkeypatch.setitem(sys.modules, "torch", None)  # importing torch now fails: the answer came without it
    assert cuda_impossible() and resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"


def test_device_nodes_or_a_driver_leave_the_answer_to_torch(monkeypatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    present: set[str] = set()
    monkeypatch.setattr(os.path, "exists", lambda path: path in present)
    monkeypatch.setattr(glob, "glob", lambda pattern: sorted(p for p in present if p.startswith("/dev/nvidia")))
    assert cuda_impossible()
    for marker in ("/dev/nvidia0", "/dev/nvidiactl", "/proc/driver/nvidia", "/dev/dxg", "/dev/kfd"):
        present.clear()
        present.add(marker)
        assert not cuda_impossible(), marker
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert not cuda_impossible()
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cuda_impossible()
    monkeypatch.setattr(sys, "platform", "win32")  # no cheap way to know there: torch decides
    assert not cuda_impossible()


def test_cached_reads_numbas_index_for_the_source_as_it_is(tmp_path: Path) -> None:
    source = tmp_path / "fresh_kernel.py"
    source.write_text("import numba\n\n\n@numba.njit(cache=True)\ndef plus_one(x):\n    return x + 1\n")
    spec = importlib.util.spec_from_file_location("fresh_kernel", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert not cached([module.plus_one])
    assert module.plus_one(1) == 2  # compiles, and writes the cache
    assert cached([module.plus_one])


def test_a_search_says_when_it_compiles_its_kernels(monkeypatch) -> None:
    x = np.random.default_rng(3).standard_normal((40, 6)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    monkeypatch.setattr(small, "numba_loaded", lambda: True)  # numba's walks, not the small-catalog numpy ones
    similarity_path(x, device="cpu")  # compiles what is missing
    warm = RecordingReporter()
    first = similarity_path(x, device="cpu", reporter=warm)
    assert search.COMPILING not in warm.notes
    monkeypatch.setattr(search, "cached", lambda kernels: False)  # as on a fresh installation
    cold = RecordingReporter()
    again = similarity_path(x, device="cpu", reporter=cold)
    assert cold.notes == [search.COMPILING] == ["compiling search kernels, first run only"]
    assert np.array_equal(first.path, again.path)


def test_the_warm_up_leaves_every_kernel_of_any_search_cached() -> None:
    from fomo_order.similarity.warm_up import compile_kernels

    compile_kernels()
    assert cached(search._kernels_for(10**6, "cpu", search.Refine.TWO_OPT, lower_bound=True, sampled=True))
