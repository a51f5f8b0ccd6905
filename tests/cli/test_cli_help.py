"""The CLI surface: `--help` is instant (no heavy imports) and docs/ documents every command and option."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

HEAVY = ("torch", "open_clip", "numba", "matplotlib", "elasticsearch", "sentence_transformers", "ahocorasick")


def command_names() -> list[str]:
    import fomo_order.cli.runner  # noqa: F401  (importing it registers every command on the app)
    from fomo_order.cli.app import app

    return sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from fomo_order.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"for name in {command_names()!r}:\n"
        "    try:\n        main([name, '--help'])\n    except SystemExit:\n        pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def docs_text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in sorted((REPO / "docs").glob("*.md")))


@pytest.mark.parametrize("command", command_names())
def test_docs_document_every_option(run_cli, command: str) -> None:
    import typer.main

    from fomo_order.cli.app import app

    docs = docs_text()
    assert f"## `fomo-order {command}`" in (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    click_command = typer.main.get_command(app).commands[command]
    for param in click_command.params:
        for flag in param.opts:
            if flag.startswith("--") and flag != "--help":
                assert re.search(re.escape(flag) + r"\b", docs), f"docs/ do not document {command} {flag}"
    assert run_cli(command, "--help").exit_code == 0
