"""Hardening (issue 22): Ctrl-C at any moment, start-up included, is one line and exit 130; nothing is
written or replaced, and no temporary file stays behind."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

import fomo_order.cli as cli
from tests.conftest import REPO


def test_ctrl_c_while_the_cli_loads_is_one_line(monkeypatch, capsys) -> None:
    monkeypatch.delitem(sys.modules, "fomo_order.cli.runner", raising=False)

    def interrupted_import(name, *args, **kwargs):
        if name == "fomo_order.cli.runner":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    real_import = __builtins__["__import__"] if isinstance(__builtins__, dict) else __builtins__.__import__
    monkeypatch.setattr("builtins.__import__", interrupted_import)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 130
    assert capsys.readouterr().err == cli.INTERRUPTED + "\n"


def test_ctrl_c_inside_a_command_is_one_line(monkeypatch, capsys, small_catalog, tmp_path) -> None:
    import fomo_order.orderings.api as api

    def interrupted_order(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "order", interrupted_order)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["order", "random", str(small_catalog), "-o", str(tmp_path / "s.json")])
    assert exit_.value.code == 130
    assert capsys.readouterr().err.strip().splitlines() == [cli.INTERRUPTED]
    assert list(tmp_path.glob("s*")) == []


def test_a_real_sigint_during_a_run(tmp_path) -> None:
    out = tmp_path / "s.json"
    # `-X importtime` reports each import as it ends: once the CLI's app module has loaded, the CLI's own code runs (the
    # rest of its imports, then the loading of 18,381 concepts), and the SIGINT lands there.
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "fomo_order", "order", "random",
         str(REPO / "configs" / "fif" / "catalog.yaml"), "-o", str(out)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    for line in process.stderr:
        if line.split("|")[-1].strip() == "fomo_order.cli.app":
            break
    else:
        raise AssertionError("the CLI never loaded")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == cli.INTERRUPTED
    assert "Traceback" not in stderr
    assert [p.name for p in tmp_path.iterdir()] == []
