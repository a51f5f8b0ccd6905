from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from fomo_order.catalog import load_catalog
from fomo_order.errors import InputError
from fomo_order.orderings import ORDERINGS, make_order
from tests.conftest import DEMO_CATALOG, run_subprocess, shared_path, write_json


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_all_six_strategies_are_registered() -> None:
    assert set(ORDERINGS) == {"performance", "frequency", "similarity", "time", "dataset", "random"}


def test_stream_file_format_and_meta(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "s" / "random.json"
    result = run_cli("order", "random", DEMO_CATALOG, "-o", out, "--seed", 3)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith('[\n    "') and text.endswith('"\n]\n')
    assert "\\u" not in text
    stream = json.loads(text)
    catalog = load_catalog(DEMO_CATALOG)
    assert sorted(stream) == sorted(catalog.concept_ids)
    meta = read(tmp_path / "s" / "random.meta.json")
    assert meta["strategy"] == "random" and meta["seed"] == 3 and meta["concepts"] == len(catalog)
    assert meta["version"] and meta["inputs"]["catalog"]["path"] == str(DEMO_CATALOG)
    files = {record["path"]: record["sha256"] for record in meta["inputs"]["catalog"]["files"]}
    assert files[str(DEMO_CATALOG)] == hashlib.sha256(DEMO_CATALOG.read_bytes()).hexdigest()


def test_non_ascii_class_names_are_written_as_utf8(run_cli, tmp_path: Path) -> None:
    write_json(tmp_path / "lists" / "X.json", ["X+++café", "X+++Straße"])
    out = tmp_path / "x.json"
    assert run_cli("order", "random", tmp_path / "lists", "-o", out).exit_code == 0
    assert "café" in out.read_text(encoding="utf-8")


def test_same_seed_same_bytes_other_seed_other_order(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    runs = []
    for seed in (1, 1, 2):
        assert run_cli("order", "random", DEMO_CATALOG, "-o", out, "--seed", seed).exit_code == 0
        runs.append((out.read_bytes(), (tmp_path / "a.meta.json").read_bytes()))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]


def test_bytes_do_not_depend_on_python_hash_seed(tmp_path: Path) -> None:
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"t{hash_seed}.json"
        done = run_subprocess("order", "time", DEMO_CATALOG, "-o", out, env={"PYTHONHASHSEED": hash_seed})
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_reverse_is_exact(run_cli, tmp_path: Path) -> None:
    run_cli("order", "dataset", DEMO_CATALOG, "-o", tmp_path / "f.json", "--seed", 5)
    run_cli("order", "dataset", DEMO_CATALOG, "-o", tmp_path / "r.json", "--seed", 5, "--reverse")
    assert read(tmp_path / "r.json") == read(tmp_path / "f.json")[::-1]
    assert read(tmp_path / "r.meta.json")["reverse"] is True


def test_dataset_order_keeps_datasets_contiguous(small_catalog: Path) -> None:
    catalog = load_catalog(small_catalog)
    order = make_order("dataset", catalog, seed=4).order
    datasets = catalog.dataset_of_concept[order]
    assert len(np.flatnonzero(np.diff(datasets))) == len(catalog.datasets) - 1
    for d in range(len(catalog.datasets)):  # concepts inside a dataset keep catalog order
        positions = order[datasets == d]
        assert list(positions) == sorted(positions)


def test_time_orders_years_oldest_first_and_shuffles_within(small_catalog: Path, small_years: Path) -> None:
    catalog = load_catalog(small_catalog, years=small_years)
    order = make_order("time", catalog, seed=0).order
    years = np.array([catalog.datasets[d].year for d in catalog.dataset_of_concept[order]])
    assert list(years) == sorted(years)
    assert set(catalog.dataset_of_concept[order[:3]]) == {1}  # BETA (2005) first
    by_dataset = make_order("time", catalog, seed=0, within_year="by-dataset").order
    datasets = catalog.dataset_of_concept[by_dataset]
    assert len(np.flatnonzero(np.diff(datasets))) == 2


def test_time_needs_every_year_and_lists_the_missing(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    years = write_json(tmp_path / "y.json", {"ALPHA": 2000})
    out = tmp_path / "t.json"
    result = run_cli("order", "time", small_catalog, "--years", years, "-o", out)
    assert result.exit_code == 2
    assert "2 without one: BETA, gamma" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_frequency_least_frequent_first_with_seeded_ties(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    catalog = load_catalog(small_catalog)
    counts = {cid: (0 if i % 2 else 100 + i) for i, cid in enumerate(catalog.concept_ids)}
    freqs = write_json(tmp_path / "f.json", {"meta": {"source": "test"}, "queries": {}, "counts": counts})
    out = tmp_path / "freq.json"
    assert run_cli("order", "frequency", small_catalog, "--frequencies", freqs, "-o", out).exit_code == 0
    stream = read(out)
    values = [counts[c] for c in stream]
    assert values == sorted(values)
    zero_block = {tuple(read(out)[:5])}
    for seed in range(1, 6):  # ties come out in a seed-dependent order
        run_cli("order", "frequency", small_catalog, "--frequencies", freqs, "-o", out, "--seed", seed)
        zero_block.add(tuple(read(out)[:5]))
    assert len(zero_block) > 1
    plain = write_json(tmp_path / "plain.json", counts)  # a plain map gives the same stream
    run_cli("order", "frequency", small_catalog, "--frequencies", freqs, "-o", out, "--seed", 7)
    done = run_cli("order", "frequency", small_catalog, "--frequencies", plain, "-o", tmp_path / "p.json", "--seed", 7)
    assert done.exit_code == 0
    assert read(tmp_path / "p.json") == read(out)


def test_performance_highest_score_first(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    catalog = load_catalog(small_catalog)
    scores = {cid: float(i % 4) / 3 for i, cid in enumerate(catalog.concept_ids)}
    path = write_json(tmp_path / "scores.json", scores)
    out = tmp_path / "perf.json"
    assert run_cli("order", "performance", small_catalog, "--scores", path, "-o", out).exit_code == 0
    values = [scores[c] for c in read(out)]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"ALPHA+++a0": 1}, "counts missing for 9 of 10 concepts"),
        ("not a map", "expected a map"),
        ("NEGATIVE", "is negative"),
        ("NAN", "not finite"),
        ("TEXT", "not a number"),
    ],
)
def test_bad_counts_file(run_cli, small_catalog: Path, tmp_path: Path, payload, message: str) -> None:
    catalog = load_catalog(small_catalog)
    full = dict.fromkeys(catalog.concept_ids, 1)
    special = {"NEGATIVE": -1, "NAN": float("nan"), "TEXT": "many"}
    if isinstance(payload, str) and payload in special:
        full["BETA+++b1"] = special[payload]
        payload = full
    path = tmp_path / "f.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    out = tmp_path / "o.json"
    result = run_cli("order", "frequency", small_catalog, "--frequencies", path, "-o", out)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and str(path) in result.stderr and message in result.stderr
    assert not out.exists() and not (tmp_path / "o.meta.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["order", "random", "MISSING", "-o", "X"], "catalog not found"),
        (["order", "frequency", "CATALOG", "-o", "X"], "--frequencies: the frequency ordering needs frequency counts"),
        (["order", "performance", "CATALOG", "-o", "X"], "--scores: the performance ordering needs per-concept scores"),
        (["order", "random", "CATALOG", "-o", "X", "--scores", "s.json"], "not used by the random ordering"),
        (["order", "random", "CATALOG", "-o", "X", "--datasets", "ALPHA,NOPE"], "unknown dataset(s) NOPE"),
    ],
)
def test_bad_usage_is_one_line_exit_2(run_cli, small_catalog: Path, tmp_path: Path, args, message: str) -> None:
    args = [str(small_catalog) if a == "CATALOG" else str(tmp_path / a) if a in ("MISSING", "X") else a for a in args]
    result = run_cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    assert not (tmp_path / "X").exists()


def test_unknown_strategy_is_a_usage_error(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    result = run_cli("order", "alphabetical", small_catalog, "-o", tmp_path / "x.json")
    assert result.exit_code == 2
    assert "alphabetical" in result.output


def test_check_reports_current_stale_and_missing(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    missing = run_cli("order", "random", DEMO_CATALOG, "-o", out, "--check")
    assert missing.exit_code == 1 and "missing" in missing.stderr and not out.exists()
    assert run_cli("order", "random", DEMO_CATALOG, "-o", out).exit_code == 0
    before = out.stat().st_mtime_ns
    assert run_cli("order", "random", DEMO_CATALOG, "-o", out, "--check").exit_code == 0
    stale = run_cli("order", "random", DEMO_CATALOG, "-o", out, "--check", "--seed", 9)
    assert stale.exit_code == 1
    assert "first difference at position" in stale.stderr and "differs in argv, seed" in stale.stderr
    assert out.stat().st_mtime_ns == before


def test_order_on_full_fomo_in_flux_catalog_time_has_15_year_groups(run_cli, tmp_path: Path) -> None:
    datasets = shared_path("fif", "datasets")
    years_file = shared_path("fif", "years.json")
    out = tmp_path / "time.json"
    assert run_cli("order", "time", datasets, "--years", years_file, "-o", out).exit_code == 0
    stream = read(out)
    years = json.loads(years_file.read_text())
    sequence = [years[c.split("+++")[0]] for c in stream]
    groups = [y for i, y in enumerate(sequence) if i == 0 or y != sequence[i - 1]]
    assert len(stream) == 18381
    assert len(groups) == 15 and groups == sorted(groups)


def test_library_rejects_nothing_it_trusts(small_catalog: Path) -> None:
    # inner functions trust a validated catalog; the edge (load_catalog) refuses bad ones
    with pytest.raises(InputError):
        make_order("time", load_catalog(small_catalog))


def test_outputs_get_the_usual_file_mode(run_cli, tmp_path: Path) -> None:
    import os
    import stat

    out = tmp_path / "r.json"
    assert run_cli("order", "random", DEMO_CATALOG, "-o", out).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    for path in (out, tmp_path / "r.meta.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({"scores": {"ALPHA+++a0": 0.5, "ALPHA+++a1": 0.1}}, "scores missing for 8 of 10 concepts, e.g. 'ALPHA+++a2'"),
        ({"ALPHA+++a0": "high"}, "score of 'ALPHA+++a0' is not a number"),
        ({"ALPHA+++a0": float("inf")}, "score of 'ALPHA+++a0' is not finite"),
    ],
)
def test_bad_scores_file(run_cli, small_catalog: Path, tmp_path: Path, scores: dict, message: str) -> None:
    catalog = load_catalog(small_catalog)
    if "scores" not in scores:
        scores = {**dict.fromkeys(catalog.concept_ids, 0.5), **scores}
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(scores), encoding="utf-8")
    out = tmp_path / "perf.json"
    result = run_cli("order", "performance", small_catalog, "--scores", path, "-o", out)
    assert result.exit_code == 2 and message in result.stderr and str(path) in result.stderr
    assert not out.exists()


def test_quiet_silences_every_note_of_order(tmp_path: Path) -> None:
    noisy = run_subprocess("order", "random", DEMO_CATALOG, "--seed", 1, "-o", "-", cwd=tmp_path)
    assert noisy.returncode == 0 and "went to standard output" in noisy.stderr
    quiet = run_subprocess("order", "random", DEMO_CATALOG, "--seed", 1, "-o", "-", "-q", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == noisy.stdout
    assert list(tmp_path.iterdir()) == []
    out = tmp_path / "r.json"
    assert run_subprocess("order", "random", DEMO_CATALOG, "-o", out, "--quiet").stderr == ""
    # -q is not recorded: the meta's command line remakes the same bytes with or without it
    assert "--quiet" not in json.loads((tmp_path / "r.meta.json").read_text("utf-8"))["argv"]


def test_order_performance_without_scores_points_to_the_commands_that_make_them(run_cli, tmp_path: Path) -> None:
    result = run_cli("order", "performance", DEMO_CATALOG, "-o", tmp_path / "p.json")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: --scores: the performance ordering needs per-concept scores")
    assert "proxy-scores" in result.stderr and "score" in result.stderr
