from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


def _cuda_present() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


CUDA = _cuda_present()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` run only where a CUDA device is: one rule here, not a skipif per test."""
    if CUDA:
        return
    needs_cuda = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(needs_cuda)


# Without a GPU the Triton kernels run in Triton's CPU interpreter, which must be chosen before anything imports
# triton.language (its own helpers such as tl.min are decorated then): here, before any test module loads.
if "TRITON_INTERPRET" not in os.environ and not CUDA:
    os.environ["TRITON_INTERPRET"] = "1"

# A shell that starts a job in the background (`make test &`, nohup) hands it SIGINT ignored, and every
# child inherits that: the tests that press Ctrl-C on a child would see it ignored. The children get
# Python's own handler back.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO_CATALOG = REPO / "configs" / "demo" / "catalog.yaml"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when that data is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is absent")
    return path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def run_cli():
    """Invoke the CLI in-process through `main()`, which owns the one-line errors and exit codes."""
    from fomo_order.cli import main

    def invoke(*args: object) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main([str(a) for a in args])
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        return CliResult(code, out.getvalue(), err.getvalue())

    return invoke


@pytest.fixture
def offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reaches the network, and none finds weights that a developer's Hugging Face cache holds."""
    import huggingface_hub.constants as hub_constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("FOMO_ORDER_CACHE_DIR", str(tmp_path / "default-cache"))


def run_subprocess(
    *args: object, env: dict | None = None, cwd: Path | None = None, stdin: bytes | str | None = None,
    unimportable: tuple[str, ...] = (),
) -> subprocess.CompletedProcess:
    """Run ``fomo-order ARGS`` in a fresh interpreter (``stdin``: what standard input holds); each module in
    ``unimportable`` fails to import there, as it does where its extra is not installed."""
    full_env = {**os.environ, **(env or {})}
    if unimportable:
        driver = f"import sys; sys.modules.update(dict.fromkeys({list(unimportable)!r}))\n" \
                 "from fomo_order.cli import main; main()"
        command = [sys.executable, "-c", driver, *map(str, args)]
    else:
        command = [sys.executable, "-m", "fomo_order", *map(str, args)]
    return subprocess.run(
        command,
        capture_output=True,
        text=not isinstance(stdin, bytes),
        input=stdin,
        env=full_env,
        cwd=cwd or REPO,
    )


def run_python_example(markdown: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: str = "") -> dict:
    """Run the first ```python block of ``markdown`` (after the heading ``after``, if given) in a copy of the
    repository's configs and demo embeddings, as a reader would paste it; returns its namespace."""
    import shutil

    text = markdown.read_text(encoding="utf-8")
    text = text[text.index(after):] if after else text
    start = text.index("```python") + len("```python")
    example = text[start : text.index("```\n", start)]
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    (tmp_path / "streams").mkdir()
    for name in ("embeddings.npy", "embeddings.json"):
        shutil.copy(REPO / "streams" / name, tmp_path / "streams" / name)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, str(markdown.relative_to(REPO)), "exec"), namespace)
    return namespace


class RecordingReporter:
    """A :class:`~fomo_order.progress.Reporter` that keeps every call."""

    def __init__(self) -> None:
        self.phases: list[dict] = []
        self.notes: list[str] = []

    def start(self, total: int, description: str, unit: str) -> None:
        self.phases.append({"description": description, "unit": unit, "total": total, "done": 0, "finished": False})

    def advance(self, amount: int) -> None:
        assert self.phases and not self.phases[-1]["finished"], "advance outside a phase"
        self.phases[-1]["done"] += amount

    def note(self, message: str) -> None:
        self.notes.append(message)

    def finish(self) -> None:
        if self.phases:
            self.phases[-1]["finished"] = True


def write_json(path: Path, value) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def small_catalog(tmp_path: Path) -> Path:
    """A FoMo-in-Flux style directory catalog: three datasets, 10 concepts."""
    root = tmp_path / "lists"
    write_json(root / "ALPHA.json", [f"ALPHA+++a{i}" for i in range(4)])
    write_json(root / "BETA.json", [f"BETA+++b{i}" for i in range(3)])
    write_json(root / "gamma.json", [f"gamma+++g{i}" for i in range(3)])
    return root


@pytest.fixture
def small_years(tmp_path: Path) -> Path:
    return write_json(tmp_path / "years.json", {"ALPHA": 2010, "BETA": 2005, "gamma": 2010})


@pytest.fixture(scope="session")
def small_catalog_for_fuzz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A three-dataset catalog, made once, for the fuzz tests (which run many examples per test)."""
    root = tmp_path_factory.mktemp("fuzz-catalog") / "lists"
    write_json(root / "A.json", ["A+++a", "A+++b"])
    write_json(root / "B.json", ["B+++c"])
    return root


@pytest.fixture
def quiet_network_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real credentials, short backoff, and a default count cache that can never be the user's own."""
    for name in ("ES_CLOUD_ID", "ES_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOMO_ORDER_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("FOMO_ORDER_BACKOFF_CAP", "0.05")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
