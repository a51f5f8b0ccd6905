"""Hardening (issue 22), the writer side: every artifact goes through one writer (`write_artifact`), so each
case here holds for every command. An output path that names no file, is an input, or is the same file as
another output is refused in one line before anything is written; a FIFO or a device is written into, never
replaced; a kill between the renames of a pair is detected from the meta's recorded sha256; temporaries a
killed run left behind are removed by the next run; standard output that is closed or a pipe whose reader
left is one line and exit 2, never a silent loss."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from fomo_order.artifacts.result import PARTNER_KEY, check_partners, write_artifact
from fomo_order.errors import InputError
from fomo_order.fileio import read_json, sha256_file
from tests.conftest import REPO, write_json
from tests.hardening.test_files import no_temporaries, one_line_error


def test_an_output_path_that_names_no_file_is_one_line(run_cli, small_catalog, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    for given, problem in (("", "directory"), (".", "directory"), ("folder", "directory")):
        result = run_cli("order", "random", small_catalog, "-o", given)
        assert result.exit_code == 2, given
        one_line_error(result, problem)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "lists"]


def test_an_output_that_is_an_input_is_refused(run_cli, small_catalog, tmp_path) -> None:
    counts = write_json(tmp_path / "counts.json", {f"{d}+++{c}{i}": 1 for d, c, n in
                                                   (("ALPHA", "a", 4), ("BETA", "b", 3), ("gamma", "g", 3))
                                                   for i in range(n)})
    before = counts.read_bytes()
    result = run_cli("order", "frequency", small_catalog, "--frequencies", counts, "-o", counts)
    assert result.exit_code == 2
    one_line_error(result, str(counts), "is also an input")
    assert counts.read_bytes() == before
    # a class list of the catalog is an input too
    class_list = small_catalog / "BETA.json"
    result = run_cli("order", "random", small_catalog, "-o", class_list)
    assert result.exit_code == 2
    one_line_error(result, "is also an input")
    assert json.loads(class_list.read_text()) == ["BETA+++b0", "BETA+++b1", "BETA+++b2"]


def test_an_output_through_a_symlink_to_an_input_is_refused(run_cli, small_catalog, tmp_path) -> None:
    link = tmp_path / "alias.json"
    link.symlink_to(small_catalog / "ALPHA.json")
    result = run_cli("order", "random", small_catalog, "-o", link)
    assert result.exit_code == 2
    one_line_error(result, "is also an input")
    assert link.is_symlink()


def test_two_outputs_that_are_one_file_are_refused(tmp_path) -> None:
    class TwoFiles:
        meta: ClassVar[dict] = {"inputs": {}}

        def files(self, path: Path) -> dict[Path, bytes]:
            return {path: b"[]\n", path.parent / "same" / ".." / path.name: b"{}\n"}

    with pytest.raises(InputError, match="same file as another output"):
        write_artifact(TwoFiles(), tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


def test_a_fifo_output_is_written_into_not_replaced(run_cli, small_catalog, tmp_path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run_cli("order", "random", small_catalog, "-o", fifo)
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert len(json.loads(received[0])) == 10
    assert not (tmp_path / "pipe.meta.json").exists()  # like `-`: a stream, not a file, has no meta beside it
    no_temporaries(tmp_path)


def test_dev_null_stays_a_device(run_cli, small_catalog) -> None:
    result = run_cli("order", "random", small_catalog, "-o", "/dev/null")
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not Path("/dev/null.meta.json").exists()


def test_a_meta_records_its_partner_and_a_torn_pair_is_detected(run_cli, small_catalog, tmp_path) -> None:
    out = tmp_path / "s.json"
    assert run_cli("order", "random", small_catalog, "-o", out).exit_code == 0
    meta_file = tmp_path / "s.meta.json"
    meta = read_json(meta_file)
    assert meta[PARTNER_KEY] == [sha256_file(out)]
    check_partners(meta, meta_file, [out])
    # a kill between the two renames: the new stream beside the old meta
    assert run_cli("order", "random", small_catalog, "--seed", "1", "-o", tmp_path / "other.json").exit_code == 0
    out.write_bytes((tmp_path / "other.json").read_bytes())
    with pytest.raises(InputError, match="pair was not replaced together"):
        check_partners(meta, meta_file, [out])
    assert run_cli("order", "random", small_catalog, "-o", out, "--check").exit_code == 1


def test_temporaries_of_a_killed_run_are_removed_by_the_next(run_cli, small_catalog, tmp_path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".s.json.{dead.stdout.strip()}.abc123.tmp"
    stale_meta = tmp_path / f".s.meta.json.{dead.stdout.strip()}.def456.tmp"
    live = tmp_path / f".s.json.{os.getppid()}.ghi789.tmp"  # a writer that still runs: left alone
    for path in (stale, stale_meta, live):
        path.write_text("half", encoding="utf-8")
    assert run_cli("order", "random", small_catalog, "-o", tmp_path / "s.json").exit_code == 0
    assert not stale.exists() and not stale_meta.exists()
    assert live.exists()


def test_a_closed_standard_output_is_one_line(small_catalog) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fomo_order", "order", "random", str(small_catalog), "-o", "-"],
        stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
        preexec_fn=lambda: os.close(1),
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "error: standard output: is closed; nothing could be written"
    assert "Traceback" not in result.stderr


def test_a_pipe_whose_reader_left_is_one_line(tmp_path) -> None:
    catalog = REPO / "configs" / "fif" / "catalog.yaml"  # 18,381 concepts: more than a pipe buffer holds
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "fomo_order", "order", "random", str(catalog), "-o", "-"],
        stdout=write_end, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, cwd=REPO,
    )
    os.close(write_end)
    os.read(read_end, 10)
    os.close(read_end)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: standard output: the reading end of the pipe closed")
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


@pytest.mark.parametrize("where", ["counts", "nested"])
def test_a_key_given_twice_in_a_json_object_is_refused(run_cli, small_catalog, tmp_path, where) -> None:
    pairs = ", ".join(f'"{d}+++{c}{i}": 1' for d, c, n in (("ALPHA", "a", 4), ("BETA", "b", 3), ("gamma", "g", 3))
                      for i in range(n))
    text = (f'{{{pairs}, "ALPHA+++a0": 9}}') if where == "counts" else (f'{{"counts": {{{pairs}}}, "counts": {{}}}}')
    path = tmp_path / "counts.json"
    path.write_text(text, encoding="utf-8")
    result = run_cli("order", "frequency", small_catalog, "--frequencies", path, "-o", tmp_path / "f.json")
    assert result.exit_code == 2
    one_line_error(result, str(path), "appears twice")
    assert not (tmp_path / "f.json").exists()


def test_a_stream_whose_meta_describes_another_version_is_refused(run_cli, small_catalog, tmp_path) -> None:
    out, other = tmp_path / "s.json", tmp_path / "other.json"
    assert run_cli("order", "random", small_catalog, "-o", out).exit_code == 0
    assert run_cli("order", "random", small_catalog, "--seed", "3", "-o", other).exit_code == 0
    out.write_bytes(other.read_bytes())  # the new stream beside the old meta: a kill between the renames
    for command in (("split", out, "--tasks", "2", "-o", tmp_path / "t.json"),
                    ("reverse", out, "-o", tmp_path / "r.json")):
        result = run_cli(*command)
        assert result.exit_code == 2, command
        one_line_error(result, str(out), "describes another version of this file")
    assert not (tmp_path / "t.json").exists() and not (tmp_path / "r.json").exists()


def test_the_plain_writers_go_through_the_one_writer(tmp_path) -> None:
    import fomo_order as fo

    catalog = fo.load_catalog(REPO / "configs" / "demo" / "catalog.yaml")
    stream = fo.order(catalog, "random", seed=1)
    stream.write(tmp_path / "a.json")
    fo.write_stream(tmp_path / "b.json", stream.concept_ids, stream.meta)
    assert (tmp_path / "a.meta.json").read_bytes() == (tmp_path / "b.meta.json").read_bytes()
    with pytest.raises(InputError, match="name of their sidecar"):
        fo.write_embeddings(tmp_path / "e.json", np.zeros((1, 2), np.float32) + 1, ["A+++x"], {})
    assert not (tmp_path / "e.json").exists()
