"""`fomo-order embed` with open_clip: a tiny architecture registered from a config JSON and a checkpoint
written here, loaded through the real ``--pretrained PATH`` path; the length-bucketed forward against
open_clip's own ``encode_text``; prompt ensembling; the caption cache; bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from fomo_order.catalog import load_catalog
from fomo_order.embeddings.captions import concept_captions, unique_captions

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")

TINY_TEXT = {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2}
TINY_VISION = {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16}
UNBUILDABLE_TEXT = {**TINY_TEXT, "heads": 5}  # 64 wide does not split into 5 heads
LONG_CLASS = " ".join(f"word{i}" for i in range(120))  # past the 77-token context: truncated, eot at the end


def write_catalog(path: Path, datasets: list[dict]) -> Path:
    path.write_text(json.dumps({"datasets": datasets}), encoding="utf-8")
    return path


CATALOG = [
    {"name": "PETS", "template": "A photo of a {}, a type of pet.", "classes": ["cat", "dog", "Abyssinian cat", "pug"]},
    {
        "name": "TEXTURES",
        "templates": ["A photo of a {} texture.", "A photo of a {} pattern."],
        "classes": ["striped", "polka-dotted", "honeycombed", "cat"],
    },
    {"name": "MISC", "template": "{}", "classes": ["a", LONG_CLASS, "A photo of a cat, a type of pet.", "x y z"]},
]


pytestmark = pytest.mark.usefixtures("offline_hub")


def make_tiny_clip(directory: Path, name: str, text_extra: dict | None = None, top_extra: dict | None = None):
    """A registered tiny open_clip config and a random-init checkpoint of it: (config, checkpoint, model)."""
    config = {"embed_dim": 32, "vision_cfg": TINY_VISION, "text_cfg": {**TINY_TEXT, **(text_extra or {})}}
    config.update(top_extra or {})
    config_path = directory / f"{name}.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    open_clip.add_model_config(config_path)
    torch.manual_seed(0)
    model = open_clip.create_model(name)
    with torch.no_grad():  # open_clip zero-initialises some weights; make every part of the tower matter
        for parameter in model.parameters():
            parameter.add_(0.02 * torch.randn_like(parameter))
    checkpoint = directory / f"{name}.pt"
    torch.save(model.state_dict(), checkpoint)
    return config_path, checkpoint, model.eval()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    return make_tiny_clip(tmp_path_factory.mktemp("tiny"), "fomo-test-tiny")


def reference_vectors(model, name: str, catalog_path: Path) -> np.ndarray:
    """What the embeddings must be: open_clip's encode_text per caption, then prompt ensembling."""
    catalog = load_catalog(catalog_path)
    per_concept = concept_captions(catalog)
    tokenizer = open_clip.get_tokenizer(name)
    rows = []
    with torch.no_grad():
        for captions in per_concept:
            features = model.encode_text(tokenizer(captions), normalize=True).double()
            mean = features.mean(dim=0)
            rows.append((mean / mean.norm()).numpy())
    return np.stack(rows)


def embed_args(catalog: Path, out: Path, tiny_model, *extra: object) -> list[object]:
    config, checkpoint, _ = tiny_model
    return ["embed", catalog, "-o", out, "--model-config", config, "--pretrained", checkpoint, *extra]


def counts(stderr: str) -> tuple[int, int]:
    match = re.search(r"(\d+) embedded, (\d+) from the cache", stderr)
    assert match, stderr
    return int(match.group(1)), int(match.group(2))


def test_checkpoint_through_the_cli_equals_encode_text(run_cli, tmp_path: Path, tiny) -> None:
    config, checkpoint, model = tiny
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out = tmp_path / "out" / "emb.npy"
    result = run_cli(*embed_args(catalog, out, tiny, "--no-cache", "--device", "cpu"))
    assert result.exit_code == 0, result.output
    matrix = np.load(out)
    assert matrix.dtype == np.float32 and matrix.shape == (12, 32)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-6)
    expected = reference_vectors(model, "fomo-test-tiny", catalog)
    assert np.abs(matrix - expected).max() <= 1e-5

    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["concepts"] == load_catalog(catalog).concept_ids
    assert sidecar["backend"] == "openclip" and sidecar["model"] == "fomo-test-tiny"
    from fomo_order import __version__
    from fomo_order.fileio import sha256_file

    assert sidecar["version"] == __version__ and sidecar["precision"] == "fp32"
    assert sidecar["pretrained"] == {
        "file": checkpoint.name, "bytes": checkpoint.stat().st_size, "sha256": sha256_file(checkpoint)
    }  # by name, size and content: never the absolute path
    assert sidecar["model_config"] == {"file": config.name, "sha256": sha256_file(config)}
    assert sidecar["templates"]["TEXTURES"] == CATALOG[1]["templates"]
    assert re.fullmatch(r"[0-9a-f]{64}", sidecar["captions"]["sha256"])
    assert sidecar["text_forward"].startswith("length-bucketed")
    assert "timestamp" not in json.dumps(sidecar).lower()
    # What decides the vectors besides the model, once and readably; nothing that differs between installs.
    assert sidecar["versions"] == {"torch": torch.__version__.split("+")[0], "open_clip": open_clip.__version__}
    assert "model_key" not in sidecar
    assert list(sidecar)[:5] == ["tool", "version", "command", "argv", "inputs"]


def test_the_library_writes_the_bytes_the_cli_writes(run_cli, tmp_path: Path, tiny) -> None:
    import fomo_order as fo
    from fomo_order.errors import CheckFailed

    config, checkpoint, _ = tiny
    catalog_path = write_catalog(tmp_path / "catalog.json", CATALOG)
    cli = tmp_path / "cli.npy"
    assert run_cli(*embed_args(catalog_path, cli, tiny, "--no-cache", "--device", "cpu")).exit_code == 0
    cli_sidecar = json.loads(cli.with_suffix(".json").read_text(encoding="utf-8"))

    catalog = fo.load_catalog(catalog_path)
    settings = fo.EmbedSettings(model_config=config, pretrained=str(checkpoint), device="cpu")
    result = fo.embed(catalog, settings)
    assert isinstance(result, fo.EmbedResult) and result.meta["argv"] is None
    api = tmp_path / "api.npy"
    result.write(api)
    assert api.read_bytes() == cli.read_bytes()
    api_sidecar = json.loads(api.with_suffix(".json").read_text(encoding="utf-8"))
    assert api_sidecar.pop("argv") is None
    assert api_sidecar == {key: value for key, value in cli_sidecar.items() if key != "argv"}

    # Given the CLI's command line, the API's sidecar is the CLI's byte for byte: --check agrees.
    same = fo.embed(catalog, settings, argv=cli_sidecar["argv"])
    same.write(cli, check=True)
    same.write(api)
    assert api.with_suffix(".json").read_bytes() == cli.with_suffix(".json").read_bytes()
    with pytest.raises(CheckFailed, match=r"cli\.json"):
        result.write(cli, check=True)  # (its argv is None)


def test_prompt_ensembling_is_the_normalised_mean(run_cli, tmp_path: Path, tiny) -> None:
    _, _, model = tiny
    catalog = write_catalog(
        tmp_path / "catalog.json",
        [{"name": "T", "templates": ["A photo of a {} texture.", "A close-up of {}."], "classes": ["wool", "bark"]}],
    )
    first_only = write_catalog(
        tmp_path / "first-catalog.json", [{"name": "T", "template": "A photo of a {} texture.", "classes": ["wool"]}]
    )
    assert run_cli(*embed_args(catalog, tmp_path / "both.npy", tiny, "--no-cache")).exit_code == 0
    assert run_cli(*embed_args(first_only, tmp_path / "first.npy", tiny, "--no-cache")).exit_code == 0
    tokenizer = open_clip.get_tokenizer("fomo-test-tiny")
    with torch.no_grad():
        first, second = model.encode_text(tokenizer(["A photo of a wool texture.", "A close-up of wool."])).double()
    mean = first / first.norm() + second / second.norm()
    expected = (mean / mean.norm()).numpy()
    both = np.load(tmp_path / "both.npy")
    assert np.abs(both[0] - expected).max() <= 1e-5
    # ... and not just one of the two captions
    assert np.abs(both[0] - np.load(tmp_path / "first.npy")[0]).max() > 1e-3


def test_output_does_not_depend_on_batching(run_cli, tmp_path: Path, tiny) -> None:
    """What the cache relies on: a caption's vector is the same bits in any batch."""
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    outputs = []
    for batch_size in (1, 3, 256):
        out = tmp_path / f"b{batch_size}.npy"
        assert run_cli(*embed_args(catalog, out, tiny, "--no-cache", "--batch-size", batch_size)).exit_code == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_cache_embeds_only_new_captions_and_changes_no_bit(run_cli, tmp_path: Path, tiny) -> None:
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    cache = tmp_path / "cache"
    out = tmp_path / "emb.npy"

    first = run_cli(*embed_args(catalog, out, tiny, "--cache-dir", cache, "--datasets", "PETS"))
    assert first.exit_code == 0, first.output
    assert counts(first.stderr) == (4, 0)

    again = run_cli(*embed_args(catalog, out, tiny, "--cache-dir", cache, "--datasets", "PETS"))
    assert counts(again.stderr) == (0, 4)

    full = run_cli(*embed_args(catalog, out, tiny, "--cache-dir", cache))
    assert full.exit_code == 0, full.output
    all_captions, _ = unique_captions(concept_captions(load_catalog(catalog)))
    pets_captions, _ = unique_captions(concept_captions(load_catalog(catalog, datasets=["PETS"])))
    # MISC repeats one PETS caption verbatim: it is not embedded again either
    assert counts(full.stderr) == (len(set(all_captions) - set(pets_captions)), len(pets_captions))
    assert len(all_captions) - len(pets_captions) == 11

    fresh = tmp_path / "fresh.npy"
    assert run_cli(*embed_args(catalog, fresh, tiny, "--no-cache")).exit_code == 0
    assert out.read_bytes() == fresh.read_bytes()
    side_cached = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    side_fresh = json.loads(fresh.with_suffix(".json").read_text(encoding="utf-8"))
    assert {k: v for k, v in side_cached.items() if k != "argv"} == {k: v for k, v in side_fresh.items() if k != "argv"}
    assert "--cache-dir" not in side_cached["argv"]

    (model_dir,) = [p for p in cache.iterdir() if p.is_dir()]
    assert model_dir.name.startswith("openclip-fomo-test-tiny-")
    assert model_dir.name not in out.with_suffix(".json").read_text(encoding="utf-8")  # the cache's key stays its own
    assert len(list(model_dir.glob("*.npz"))) == 2
    assert not list(model_dir.glob("*.tmp"))


def test_default_cache_location_follows_the_environment(run_cli, tmp_path: Path, tiny, monkeypatch) -> None:
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG[:1])
    monkeypatch.delenv("FOMO_ORDER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert run_cli(*embed_args(catalog, tmp_path / "e.npy", tiny)).exit_code == 0
    assert list((tmp_path / "xdg" / "fomo-order" / "embeddings").glob("openclip-fomo-test-tiny-*/*.npz"))


def test_a_different_checkpoint_is_a_different_cache_entry(run_cli, tmp_path: Path, tiny) -> None:
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG[:1])
    config, checkpoint, _ = tiny
    cache = tmp_path / "cache"
    assert counts(run_cli(*embed_args(catalog, tmp_path / "a.npy", tiny, "--cache-dir", cache)).stderr) == (4, 0)
    other = tmp_path / "other.pt"
    state = torch.load(checkpoint, weights_only=True)
    state["text_projection"] = state["text_projection"].flip(0)
    torch.save(state, other)
    args = ["embed", catalog, "-o", tmp_path / "b.npy", "--model-config", config, "--pretrained", other]
    result = run_cli(*args, "--cache-dir", cache)
    assert counts(result.stderr) == (4, 0)
    assert np.abs(np.load(tmp_path / "a.npy") - np.load(tmp_path / "b.npy")).max() > 1e-3


@pytest.mark.parametrize(
    ("name", "text_extra", "top_extra", "fast"),
    [
        ("fomo-test-eos", {"pool_type": "eos", "eos_id": 49407}, None, True),
        ("fomo-test-custom", None, {"custom_text": True}, True),  # CustomTextCLIP with a TextTransformer tower
        ("fomo-test-bidir", {"no_causal_mask": True, "pool_type": "last"}, None, False),
    ],
)
def test_other_text_towers(run_cli, tmp_path: Path, name: str, text_extra, top_extra, fast: bool) -> None:
    config, checkpoint, model = make_tiny_clip(tmp_path, name, text_extra, top_extra)
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out = tmp_path / "emb.npy"
    result = run_cli("embed", catalog, "-o", out, "--model-config", config, "--pretrained", checkpoint, "--no-cache")
    assert result.exit_code == 0, result.output
    assert np.abs(np.load(out) - reference_vectors(model, name, catalog)).max() <= 1e-5
    text_forward = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["text_forward"]
    assert text_forward.startswith("length-bucketed") == fast
    if not fast:
        assert "bidirectional" in text_forward


def assert_one_line_error(result, *files: Path, mentions: str = "") -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.stderr.rstrip().splitlines()[-1] == errors[0], result.stderr
    assert mentions in errors[0]
    for path in files:
        assert not path.exists(), path
    return errors[0]


def test_missing_checkpoint(run_cli, tmp_path: Path, tiny) -> None:
    config, _, _ = tiny
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out = tmp_path / "emb.npy"
    missing = tmp_path / "nope.pt"
    result = run_cli("embed", catalog, "-o", out, "--model-config", config, "--pretrained", missing)
    assert_one_line_error(result, out, out.with_suffix(".json"), mentions=f"{missing}: no such checkpoint file")


def test_corrupt_checkpoint(run_cli, tmp_path: Path, tiny) -> None:
    config, _, _ = tiny
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    out = tmp_path / "emb.npy"
    result = run_cli("embed", catalog, "-o", out, "--model-config", config, "--pretrained", bad, "--no-cache")
    assert_one_line_error(result, out, out.with_suffix(".json"), mentions=f"{bad}: cannot load as open_clip")


def test_checkpoint_of_another_architecture(run_cli, tmp_path: Path, tiny) -> None:
    _, checkpoint, _ = tiny
    other, _, _ = make_tiny_clip(tmp_path, "fomo-test-wider", {"width": 128})
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out = tmp_path / "emb.npy"
    result = run_cli("embed", catalog, "-o", out, "--model-config", other, "--pretrained", checkpoint, "--no-cache")
    assert_one_line_error(result, out, mentions=f"{checkpoint}: cannot load as open_clip fomo-test-wider weights")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"embed_dim": 32, "text_cfg": {', "malformed JSON"),
        ('{"embed_dim": 32, "text_cfg": {}}', "needs 'embed_dim', 'vision_cfg' and 'text_cfg'"),
        (json.dumps({"embed_dim": 32, "vision_cfg": TINY_VISION, "text_cfg": UNBUILDABLE_TEXT}), "cannot build"),
    ],
)
def test_bad_model_config(run_cli, tmp_path: Path, tiny, content: str, problem: str) -> None:
    _, checkpoint, _ = tiny
    config = tmp_path / "fomo-test-bad.json"
    config.write_text(content, encoding="utf-8")
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out = tmp_path / "emb.npy"
    result = run_cli("embed", catalog, "-o", out, "--model-config", config, "--pretrained", checkpoint, "--no-cache")
    assert_one_line_error(result, out, mentions=f"{config}: ")
    assert problem in result.stderr


def test_offline_download_of_the_default_model_fails_fast_in_one_line(run_cli, tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out = tmp_path / "emb.npy"
    result = run_cli("embed", catalog, "-o", out, "--cache-dir", tmp_path / "cache")
    line = assert_one_line_error(result, out, out.with_suffix(".json"), mentions="ViT-L-14 'openai' weights")
    assert line.startswith("error: --pretrained:") and "give a local checkpoint file" in line


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--backend", "tensorflow"], "Invalid value for '--backend'"),
        (["--device", "tpu"], "Invalid value for '--device'"),
        (["--precision", "fp8"], "Invalid value for '--precision'"),
        (["--precision", "fp16", "--device", "cpu"], "--precision: fp16 needs a CUDA device"),
        (["--batch-size", "0"], "--batch-size: must be at least 1"),
        (["--model", "ViT-Q-99", "--pretrained", "x.pt"], "--model: 'ViT-Q-99' is not an open_clip model"),
        (["--model", "ViT-B-32", "--pretrained", "laion9000"], "not a pretrained tag of ViT-B-32"),
        (["--backend", "sentence-transformers", "--pretrained", "x"], "--pretrained: is only for the openclip backend"),
        (["--datasets", "PETS,NOPE"], "unknown dataset(s) NOPE"),
        pytest.param(
            ["--device", "cuda"],
            "--device: cuda was asked for, but torch sees no CUDA device",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA"),
        ),
    ],
)
def test_bad_options(run_cli, tmp_path: Path, args: list[str], mentions: str) -> None:
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out = tmp_path / "emb.npy"
    assert_one_line_error(run_cli("embed", catalog, "-o", out, "--no-cache", *args), out, mentions=mentions)


def test_weights_that_give_nan_are_refused_and_not_cached(run_cli, tmp_path: Path, tiny) -> None:
    config, checkpoint, _ = tiny
    state = torch.load(checkpoint, weights_only=True)
    state["text_projection"][0, 0] = float("nan")
    broken = tmp_path / "broken.pt"
    torch.save(state, broken)
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out = tmp_path / "emb.npy"
    cache = tmp_path / "cache"
    args = ["embed", catalog, "-o", out, "--model-config", config, "--pretrained", broken]
    result = run_cli(*args, "--cache-dir", cache)
    assert_one_line_error(result, out, out.with_suffix(".json"), mentions="gave a NaN, infinite or zero vector")
    assert not list(cache.glob("*/*.npz"))


def test_custom_config_without_weights(run_cli, tmp_path: Path, tiny) -> None:
    config, _, _ = tiny
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out = tmp_path / "emb.npy"
    result = run_cli("embed", catalog, "-o", out, "--model-config", config)
    assert_one_line_error(result, out, mentions="--pretrained: fomo-test-tiny has no 'openai' weights")


def test_model_differs_from_the_config_stem(run_cli, tmp_path: Path, tiny) -> None:
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out = tmp_path / "emb.npy"
    result = run_cli(*embed_args(catalog, out, tiny, "--model", "ViT-B-32"))
    assert_one_line_error(result, out, mentions="registers the model under its file stem 'fomo-test-tiny'")


def test_length_bucketed_forward_matches_encode_text_directly(tiny) -> None:
    """The fast path on its own, over captions of every length up to the full context."""
    from fomo_order.embeddings.openclip_text import causal_text_tower, encode_truncated, pool_positions

    _, _, model = tiny
    tower = causal_text_tower(model)
    assert not isinstance(tower, str)
    tokenizer = open_clip.get_tokenizer("fomo-test-tiny")
    captions = [" ".join(["word"] * n) for n in (0, 1, 5, 20, 74, 75, 76, 200)]
    tokens = tokenizer(captions)
    with torch.no_grad():
        expected = model.encode_text(tokens)
        for row, position in enumerate(pool_positions(tokens, tower.pool_type, tower.eos_id).tolist()):
            got = encode_truncated(tower, tokens[row : row + 1], position + 1)
            assert (got - expected[row]).abs().max().item() <= 1e-5
    assert pool_positions(tokens, "argmax", None).tolist()[-1] == 76
