"""The documentation a user relies on: the generated CLI reference matches the live `--help`, README.md
stays a start page whose links work, and every committed artifact matches its shipped JSON Schema."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from tests.conftest import REPO, run_python_example

jsonschema = pytest.importorskip("jsonschema")

DOCS = REPO / "docs"
README = REPO / "README.md"
STREAMS = REPO / "streams"
SCHEMAS = ("stream", "tasks", "meta", "freqs", "embeddings", "scores")
# committed files under streams/ that are not streams
NOT_STREAMS = {"embeddings.json", "frequencies.json", "scores.json", "report.json"}


def test_cli_reference_is_generated_from_the_live_help() -> None:
    from fomo_order.cli.reference import REGENERATE, render_reference

    committed = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert committed == render_reference(), f"docs/cli.md is stale: regenerate it with `{REGENERATE}`"


def test_reference_main_writes_the_file(tmp_path: Path) -> None:
    from fomo_order.cli.reference import main, render_reference

    assert main([str(tmp_path / "cli.md")]) == 0
    assert (tmp_path / "cli.md").read_text(encoding="utf-8") == render_reference()


def test_the_reference_does_not_depend_on_the_terminal(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "30", "TERM": "dumb", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "fomo_order.cli.reference", str(tmp_path / "cli.md")], env=env,
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cli.md").read_bytes() == (DOCS / "cli.md").read_bytes()


def test_readme_is_at_most_16_kb() -> None:
    assert README.stat().st_size <= 16 * 1024, f"README.md is {README.stat().st_size} bytes: move text into docs/"


def test_readme_never_refers_to_the_shared_reference_data() -> None:
    for page in [README, *sorted(DOCS.glob("*.md"))]:
        assert "../shared" not in page.read_text(encoding="utf-8"), page


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors_of(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        anchor = github_anchor(line.lstrip("#"))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    return anchors


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return [target for target in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:", target)]


def broken(page: Path, target: str) -> str | None:
    """Why a relative link of ``page`` does not resolve (None when it does)."""
    file_part, _, anchor = target.partition("#")
    linked = (page.parent / file_part).resolve() if file_part else page
    if not linked.exists():
        return f"{target}: no such file"
    if anchor and linked.suffix == ".md" and anchor not in anchors_of(linked):
        return f"{target}: no heading with that anchor"
    return None


def test_readme_commands_table_links_to_existing_docs_pages() -> None:
    from tests.cli.test_cli_help import command_names

    text = README.read_text(encoding="utf-8")
    table = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `fomo-order ")]
    listed = {re.match(r"\| `fomo-order ([\w-]+)`", row).group(1) for row in rows}
    assert listed == set(command_names())
    for row in rows:
        links = re.findall(r"\]\(([^)]+)\)", row)
        assert links and all(link.startswith("docs/") for link in links), row
        problems = [problem for link in links if (problem := broken(README, link))]
        assert not problems, problems


@pytest.mark.parametrize("page", [README, REPO / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    problems = [problem for target in relative_links(page) if (problem := broken(page, target))]
    assert not problems, problems


def test_every_page_of_docs_is_in_its_index() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    pages = {page.name for page in DOCS.glob("*.md")} - {"README.md"}
    assert pages == set(re.findall(r"\]\(([\w-]+\.md)\)", index))


# ---------------------------------------------------------------------------------------------- schemas


def schema(name: str) -> dict:
    text = (resources.files("fomo_order") / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validator(name: str):
    body = schema(name)
    jsonschema.Draft202012Validator.check_schema(body)
    return jsonschema.Draft202012Validator(body, format_checker=jsonschema.FormatChecker())


def errors(name: str, document: object) -> list[str]:
    return [error.message for error in validator(name).iter_errors(document)]


def read(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def committed_streams() -> list[Path]:
    return sorted(p for p in STREAMS.glob("*.json") if not p.name.endswith(".meta.json") and p.name not in NOT_STREAMS)


def test_the_package_ships_one_schema_per_artifact() -> None:
    shipped = {p.name for p in (resources.files("fomo_order") / "schemas").iterdir() if p.name.endswith(".json")}
    assert shipped == {f"{name}.schema.json" for name in SCHEMAS}
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'fomo_order = \[[^\]]*"schemas/\*\.schema\.json"', pyproject), "schemas are not package data"


def test_committed_streams_match_the_stream_schema() -> None:
    streams = committed_streams()
    assert len(streams) >= 54  # the demo set: 27 streams and their reversals
    for path in streams:
        assert not errors("stream", read(path)), path


def test_committed_metas_match_the_meta_schema() -> None:
    metas = sorted(STREAMS.glob("*.meta.json"))
    assert len(metas) >= 55
    for path in metas:
        assert not errors("meta", read(path)), (path, errors("meta", read(path)))


@pytest.mark.parametrize(("name", "file"), [("freqs", "frequencies.json"), ("embeddings", "embeddings.json"),
                                            ("scores", "scores.json")])
def test_committed_inputs_match_their_schema(name: str, file: str) -> None:
    assert not errors(name, read(STREAMS / file)), errors(name, read(STREAMS / file))


def test_the_embeddings_sidecar_names_every_row() -> None:
    import numpy as np

    sidecar = read(STREAMS / "embeddings.json")
    assert len(sidecar["concepts"]) == np.load(STREAMS / "embeddings.npy").shape[0]


def test_a_split_writes_tasks_that_match_the_tasks_schema(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "tasks.json"
    assert run_cli("split", STREAMS / "random_seed1.json", "--tasks", "20", "-o", out).exit_code == 0
    tasks = read(out)
    assert not errors("tasks", tasks)
    assert not errors("meta", read(tmp_path / "tasks.meta.json"))
    assert [c for task in tasks for c in task] == read(STREAMS / "random_seed1.json")


def test_freqs_schema_accepts_provenance_at_the_top_level_or_under_meta() -> None:
    document = read(STREAMS / "frequencies.json")
    assert "meta" not in document and document["argv"][0] == "fetch-frequencies"  # today's flat layout
    assert not errors("freqs", document)
    provenance = ("tool", "version", "command", "argv", "inputs")
    nested = {"meta": {k: v for k, v in document.items() if k not in ("queries", "counts")},
              **{k: v for k, v in document.items() if k not in provenance}}
    assert not errors("freqs", nested)  # a file of an earlier version


def test_embeddings_schema_takes_the_committed_sidecar_and_a_users_own() -> None:
    sidecar = read(STREAMS / "embeddings.json")
    assert "model_key" not in sidecar and sidecar["versions"]["torch"]
    assert not errors("embeddings", sidecar)
    assert not errors("embeddings", {"concepts": ["A+++x", "A+++y"]})  # a user's own .npy: concepts only


BAD = [
    ("stream", {"not": "a list"}),
    ("stream", ["A+++x", "A+++x"]),
    ("stream", ["A+++x", 3]),
    ("stream", []),
    ("tasks", [["A+++x"], []]),
    ("tasks", ["A+++x"]),
    ("meta", {"tool": "fomo-order", "version": "0.1.0"}),
    ("meta", {"tool": "other", "version": "0.1.0", "command": "order"}),
    ("meta", {"tool": "fomo-order", "version": "0.1.0", "command": "order", "concepts": -1}),
    ("meta", {"tool": "fomo-order", "version": "0.1.0", "command": "order", "argv": "order random"}),
    ("freqs", {"queries": {"A+++x": "x"}}),
    ("freqs", {"counts": {"A+++x": -7}}),
    ("freqs", {"counts": {"A+++x": 1.5}}),
    ("freqs", {"counts": {"A+++x": "12"}}),
    ("freqs", {"counts": {"A+++x": 2**70}}),
    ("embeddings", {"model": "all-MiniLM-L6-v2"}),
    ("embeddings", {"concepts": "A+++x"}),
    ("embeddings", {"concepts": ["A+++x", "A+++x"]}),
    ("embeddings", {"concepts": ["A+++x"], "dim": 0}),
    ("scores", {"A+++x": 0.5}),
    ("scores", {"scores": {"A+++x": "high"}}),
    ("scores", {"scores": {"A+++x": 0.5}, "images": {"A+++x": -1}}),
]


@pytest.mark.parametrize(("name", "document"), BAD, ids=[f"{name}-{i}" for i, (name, _) in enumerate(BAD)])
def test_schemas_refuse_what_the_readers_refuse(name: str, document: object) -> None:
    assert errors(name, document)


def test_the_api_page_example_runs_and_writes_the_cli_bytes(tmp_path: Path, monkeypatch, capsys) -> None:
    run_python_example(DOCS / "api.md", tmp_path, monkeypatch)
    written = tmp_path / "out" / "time-by-dataset_seed1.json"
    assert written.read_bytes() == (REPO / "streams" / "time-by-dataset_seed1.json").read_bytes()
    assert "experiment.task.num=20" in capsys.readouterr().out
