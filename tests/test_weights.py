"""Checkpoints (safe loading, config inference, legacy keys) and the feature-reuse heat map."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from densevis import DenseVisError, build_model, get_config
from densevis.cli import main
from densevis.config import DenseNetConfig
from densevis.reuse import REUSE_NOTE, FeatureReuse
from densevis.reuse_measure import feature_reuse
from densevis.weights import (
    LEGACY_KEY,
    TORCHVISION_URLS,
    infer_config,
    load_checkpoint,
    save_checkpoint,
)

SMALL = DenseNetConfig(growth_rate=4, block_config=(3, 2), num_init_features=6, bn_size=2,
                       compression=0.5, num_classes=5, input_size=(32, 32), stem="cifar")


@pytest.fixture(scope="module")
def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(SMALL, device="cpu")


def _legacy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """densevis keys -> torchvision's old format (norm1 -> norm.1), no BN counters."""
    pattern = re.compile(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.")
    return {pattern.sub(r"\1.\2.", key): value for key, value in state.items()
            if not key.endswith("num_batches_tracked")}


# --------------------------------------------------------------------------- heat map values


def test_hand_made_weights_give_known_pixels() -> None:
    torch.manual_seed(0)
    model = build_model(SMALL, device="cpu")
    layer3 = model.features.denseblock1.denselayer3
    # layer 3 reads k0 = 6 input channels, then 4 from layer 1 and 4 from layer 2.
    column = torch.tensor([1, -1, 3, -3, 2, -2,  # source 0: mean |w| = 2
                           0.5, -0.5, 1.5, 1.5,  # source 1: 1
                           -4, 0, 4, 0],  # source 2: 2
                          dtype=torch.float32)
    weight = torch.stack([column, 3 * column, -column, 0 * column] * 2)  # bn_size * k = 8
    with torch.no_grad():
        layer3.conv1.weight.copy_(weight.reshape(8, 14, 1, 1))
        # the transition reads the block output: 6 + 3 * 4 = 18 channels
        transition = torch.zeros(9, 18, 1, 1)
        transition[:, 14:18] = 0.25  # only source 3
        model.features.transition1.conv.weight.copy_(transition)
    block = feature_reuse(model).block(1)
    scale = (1 + 3 + 1 + 0) / 4  # the output channels' factors, averaged
    assert block.value(0, 3) == pytest.approx(2 * scale)
    assert block.value(1, 3) == pytest.approx(1 * scale)
    assert block.value(2, 3) == pytest.approx(2 * scale)
    assert block.value(3, 3) is None  # layer 3 does not read itself
    assert block.column("transition") == pytest.approx([0, 0, 0, 0.25])
    assert block.final == "transition" and block.conv == "conv1"


def test_without_bottleneck_uses_conv2_and_the_classifier_closes_the_last_block() -> None:
    config = SMALL.replace(bn_size=0, block_config=(2,))
    model = build_model(config, device="cpu")
    with torch.no_grad():
        weight = torch.zeros(4, 10, 3, 3)  # layer 2: 6 + 4 input channels, 3x3 kernel
        weight[:, :6] = -0.5
        weight[:, 6:, 1, 1] = 9.0  # centre taps only: mean over 9 taps = 1
        model.features.denseblock1.denselayer2.conv2.weight.copy_(weight)
        model.classifier.weight.zero_()
        model.classifier.weight[:, :6] = 2.0
    block = feature_reuse(model).block(1)
    assert block.conv == "conv2"
    assert block.column(2)[:2] == pytest.approx([0.5, 1.0])  # 9 at 1 of 9 taps -> 1
    assert block.column(2)[2] is None
    assert block.final == "classifier" and block.final_name == "classifier"
    assert block.column("classifier") == pytest.approx([2.0, 0.0, 0.0])


def test_heatmap_of_l_layers_is_l_plus_one_square() -> None:
    reuse = feature_reuse(build_model("densenet121", device="cpu"))
    assert [b.layers for b in reuse.blocks] == [6, 12, 24, 16]
    for block in reuse.blocks:
        assert len(block.values) == block.layers + 1
        assert all(len(row) == block.layers + 1 for row in block.values)
        assert block.column_labels[-1] == ("classifier" if block.block == 4 else "transition")
        for source, row in enumerate(block.values):
            for column, value in enumerate(row[:-1], start=1):
                assert (value is None) == (source >= column)
            assert row[-1] is not None and row[-1] > 0
    assert reuse.random_weights and "random" in REUSE_NOTE


def test_reuse_records_round_trip_and_tables(small_model: torch.nn.Module) -> None:
    reuse = feature_reuse(small_model, weights="example.pth")
    data = json.loads(reuse.to_json())
    assert FeatureReuse.from_dict(data) == reuse
    assert data["blocks"][0]["columns"] == ["1", "2", "3", "transition"]
    frame = reuse.to_dataframe()
    # linked pixels: L(L+1)/2 inside the block plus L+1 in the final column
    assert len(frame) == (6 + 4) + (3 + 3)
    matrix = reuse.block(2).to_matrix()
    assert matrix.shape == (3, 3)
    assert matrix.loc["input", "classifier"] == pytest.approx(reuse.block(2).value(0, "final"))
    with pytest.raises(DenseVisError, match="block 3 does not exist"):
        reuse.block(3)


# --------------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_densevis_checkpoint_round_trips(small_model: torch.nn.Module, tmp_path: Path,
                                         suffix: str) -> None:
    path = save_checkpoint(small_model, tmp_path / f"model{suffix}")
    loaded = load_checkpoint(path, device="cpu")
    assert loaded.config == small_model.config and loaded.config_from == "file"
    assert loaded.format == ("safetensors" if suffix == ".safetensors" else "pytorch")
    original, restored = small_model.state_dict(), loaded.model.state_dict()
    assert list(original) == list(restored)
    assert all(torch.equal(original[key], restored[key]) for key in original)
    assert not loaded.model.training


@pytest.mark.parametrize("changes", [{}, {"compression": 0.7, "bn_size": 0},
                                     {"stem": "imagenet", "input_size": (224, 224)}])
def test_config_inferred_from_shapes(tmp_path: Path, changes: dict) -> None:
    config = SMALL.replace(**changes)
    model = build_model(config, device="cpu")
    assert infer_config(model.state_dict()) == config
    path = tmp_path / "plain.pt"
    torch.save(model.state_dict(), path)
    loaded = load_checkpoint(path, device="cpu")
    assert loaded.config_from == "inferred" and loaded.config == config


def test_inferred_preset_names() -> None:
    state = build_model("densenet-bc-100", device="cpu").state_dict()
    assert infer_config(state) == get_config("densenet-bc-100")


def test_legacy_torchvision_keys_load(tmp_path: Path) -> None:
    model = build_model("densenet121", device="cpu")
    legacy = _legacy(model.state_dict())
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    assert LEGACY_KEY.match("features.denseblock1.denselayer1.norm.1.weight")
    path = tmp_path / "densenet121-a639ec97.pth"
    torch.save(legacy, path)
    loaded = load_checkpoint(path, device="cpu")
    assert loaded.config == get_config("densenet121")
    assert loaded.renamed_legacy_keys == 58 * 10  # 58 layers: norm1 (4), conv1, norm2 (4), conv2
    assert loaded.filled_batch_counters == 58 * 2 + 3 + 2  # layers, transitions, norm0/5
    state = loaded.model.state_dict()
    for key, value in model.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(state[key], value), key


def test_wrapped_and_prefixed_state_dicts(small_model: torch.nn.Module) -> None:
    state = {f"module.{key}": value for key, value in small_model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save({"model": state, "epoch": 3}, buffer)
    loaded = load_checkpoint(buffer.getvalue(), device="cpu", name="upload.pth")
    assert loaded.stripped_prefix == "module." and loaded.source == "upload.pth"
    assert torch.equal(loaded.model.classifier.weight, small_model.classifier.weight)


class _CreatesFile:
    def __init__(self, call: object, path: str) -> None:
        self.call, self.path = call, path

    def __reduce__(self) -> tuple:
        if self.call is os.system:
            return (os.system, (f"touch {self.path}",))
        return (open, (self.path, "w"))


@pytest.mark.parametrize("call", [os.system, open], ids=["os.system", "open"])
@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path, call: object,
                                                    writer: str) -> None:
    victim = tmp_path / "pwned"
    payload = {"features.conv0.weight": torch.zeros(1), "x": _CreatesFile(call, str(victim))}
    path = tmp_path / "evil.pth"
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    # Sanity: an unrestricted unpickler would create the file.
    assert not victim.exists()
    with pytest.raises(DenseVisError, match="refused.*pickled code.*nothing from it was executed"):
        load_checkpoint(path, device="cpu")
    assert not victim.exists()


def test_the_payload_really_would_run(tmp_path: Path) -> None:
    """Guards the test above: with plain pickle, the same payload creates the file."""
    victim = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_CreatesFile(open, str(victim))))
    assert victim.exists()


def test_truncated_random_and_other_bad_files(small_model: torch.nn.Module,
                                              tmp_path: Path) -> None:
    good = tmp_path / "good.pth"
    save_checkpoint(small_model, good)
    data = good.read_bytes()
    cases = {
        "truncated": data[: len(data) // 2],
        "random": bytes(range(256)) * 40,
        "text": b"this is not a checkpoint\n",
        "list": _saved([torch.zeros(2)]),
        "no tensors": _saved({"epoch": 3}),
    }
    for name, blob in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.pth"
        path.write_bytes(blob)
        with pytest.raises(DenseVisError) as error:
            load_checkpoint(path, device="cpu")
        assert path.name in str(error.value), name
    safetensors_path = tmp_path / "good.safetensors"
    save_checkpoint(small_model, safetensors_path)
    cut = safetensors_path.read_bytes()[:-100]
    with pytest.raises(DenseVisError, match="safetensors"):
        load_checkpoint(cut, device="cpu")
    with pytest.raises(DenseVisError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pth")
    with pytest.raises(DenseVisError, match="over the"):
        load_checkpoint(good, device="cpu", max_bytes=1000)


def _saved(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_mismatched_keys_are_named(small_model: torch.nn.Module) -> None:
    state = dict(small_model.state_dict())
    del state["features.denseblock1.denselayer2.conv1.weight"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(DenseVisError) as error:
        load_checkpoint(_saved(state), config=SMALL, device="cpu")
    message = str(error.value)
    assert "1 missing key(s): features.denseblock1.denselayer2.conv1.weight" in message
    assert "1 unexpected key(s): extra.weight" in message
    wider = SMALL.replace(growth_rate=5)
    with pytest.raises(DenseVisError) as error:
        load_checkpoint(_saved(small_model.state_dict()), config=wider, device="cpu")
    message = str(error.value)
    count = int(re.search(r"(\d+) mis-shaped", message).group(1))
    assert count > 10 and f"and {count - 10} more" in message
    assert "features.denseblock1.denselayer1.conv1.weight (file (8, 6, 1, 1), model " \
           "(10, 6, 1, 1))" in message


def test_torchvision_urls_are_the_published_files() -> None:
    assert TORCHVISION_URLS["densenet121"] == \
        "https://download.pytorch.org/models/densenet121-a639ec97.pth"
    assert set(TORCHVISION_URLS) == {"densenet121", "densenet169", "densenet201", "densenet161"}


# --------------------------------------------------------------------------- CLI and charts


def test_cli_heatmap_and_summary_from_checkpoint(small_model: torch.nn.Module, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = save_checkpoint(small_model, tmp_path / "m.pth")
    out = tmp_path / "reuse.json"
    assert main(["heatmap", "--checkpoint", str(path), "--format", "json", "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    expected = feature_reuse(small_model)
    assert data["blocks"][1]["values"] == [list(row) for row in expected.block(2).values]
    assert data["weights"] == "m.pth"
    assert main(["heatmap", "--checkpoint", str(path), "--block", "2", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "source,1,2,classifier" and len(lines) == 4
    assert main(["summary", "--checkpoint", str(path), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["totals"]["params"] == sum(p.numel() for p in small_model.parameters())
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x00" * 64)
    assert main(["heatmap", "--checkpoint", str(bad)]) == 2
    assert "bad.pth" in capsys.readouterr().err


def test_cli_heatmap_random_weights_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["heatmap", "--model", "densenet-bc-100", "--blocks", "2,2",
                 "--block", "1", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "random" in captured.err and captured.out.startswith("source,1,2,transition")


def test_heatmap_chart_reads_records_only(small_model: torch.nn.Module) -> None:
    from densevis.render.reuse_charts import reuse_heatmap_chart, reuse_heatmaps_chart

    reuse = feature_reuse(small_model)
    figure = reuse_heatmap_chart(reuse, 1)
    heatmap = figure.data[0]
    assert len(heatmap.z) == 4 and len(heatmap.z[0]) == 4
    assert heatmap.customdata[0][3] == pytest.approx(reuse.block(1).value(0, "transition"))
    assert list(heatmap.x) == ["1", "2", "3", "transition"]
    normalised = reuse_heatmap_chart(reuse, 1, normalize="column").data[0]
    assert max(row[0] for row in normalised.z if row[0] == row[0]) == pytest.approx(1.0)
    assert len(reuse_heatmaps_chart(reuse).data) == 2
    code = ("import sys, densevis.render.reuse_charts; "
            "print('torch' in sys.modules, 'streamlit' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(("key", "value", "shown"), [
    ("features.conv0.weight", torch.zeros(6), "(6,)"),
    ("features.denseblock1.denselayer1.conv2.weight", torch.tensor(2.0), "()"),
    ("features.denseblock1.denselayer1.conv2.weight", torch.zeros(0, 8, 3, 3), "(0, 8, 3, 3)"),
    ("features.transition1.conv.weight", torch.zeros(18), "(18,)"),
    ("classifier.weight", torch.tensor(1.0), "()"),
])
def test_crafted_shapes_are_named_not_crashed(small_model: torch.nn.Module, tmp_path: Path,
                                              key: str, value: torch.Tensor, shown: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    state = dict(small_model.state_dict())
    state[key] = value
    path = tmp_path / "crafted.pth"
    torch.save(state, path)
    with pytest.raises(DenseVisError, match=f"{key} has shape {re.escape(shown)}"):
        load_checkpoint(path, device="cpu")
    assert main(["heatmap", "--checkpoint", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("densevis: error: cannot infer") and err.count("\n") == 1


def _expanded(small_model: torch.nn.Module, classes: int) -> dict[str, torch.Tensor]:
    """A state_dict whose classifier is a stride-0 view: tiny on disk, huge once copied."""
    state = dict(small_model.state_dict())
    width = state["classifier.weight"].shape[1]
    state["classifier.weight"] = torch.zeros(1, width).expand(classes, width)
    state["classifier.bias"] = torch.zeros(1).expand(classes)
    return state


def test_declared_sizes_are_held_against_the_cap_before_building(
        small_model: torch.nn.Module, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import densevis.weights

    path = tmp_path / "wide.pth"
    torch.save(_expanded(small_model, 10_000_000), path)
    assert path.stat().st_size < 100_000  # the file is small; its tensors are not

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("built a model before checking the declared sizes")

    monkeypatch.setattr(densevis.weights, "DenseNet", never)
    with pytest.raises(DenseVisError, match=r"declares \(largest: classifier.weight "
                                            r"\(10000000, \d+\)\) need .* over the 1 MiB cap"):
        load_checkpoint(path, device="cpu", max_memory=1024**2)
    for command in ("summary", "heatmap", "memory"):
        assert main([command, "--checkpoint", str(path), "--max-memory", "1M"]) == 2
        assert "declares" in capsys.readouterr().err


def test_expanded_tensors_within_the_cap_load_as_real_tensors(small_model: torch.nn.Module
                                                              ) -> None:
    buffer = io.BytesIO()
    torch.save(_expanded(small_model, 7), buffer)
    loaded = load_checkpoint(buffer.getvalue(), device="cpu")
    assert loaded.config.num_classes == 7
    assert loaded.model.classifier.weight.stride() == (loaded.model.classifier.weight.shape[1], 1)


def test_nan_weights_warn_and_write_null(small_model: torch.nn.Module, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    state = dict(small_model.state_dict())
    weight = state["features.denseblock1.denselayer1.conv1.weight"].clone()
    weight[0, 0, 0, 0] = float("nan")
    state["features.denseblock1.denselayer1.conv1.weight"] = weight
    path = tmp_path / "nan.pth"
    torch.save(state, path)
    loaded = load_checkpoint(path, device="cpu")
    assert loaded.non_finite == ["features.denseblock1.denselayer1.conv1.weight"]
    out = tmp_path / "reuse.json"
    assert main(["heatmap", "--checkpoint", str(path), "-o", str(out)]) == 0
    assert "warning: 1 tensor(s)" in capsys.readouterr().err
    data = json.loads(out.read_text(), parse_constant=lambda name: pytest.fail(name))
    assert data["blocks"][0]["values"][0][0] is None  # source 0 -> layer 1 read the NaN
    assert data["blocks"][0]["values"][0][1] is not None
    assert load_checkpoint(_saved(small_model.state_dict()), device="cpu").warning is None


@pytest.mark.parametrize("flags", [["--growth-rate", "12"], ["--blocks", "6,12"],
                                   ["--model", "densenet169"]])
def test_checkpoint_with_model_flags_is_refused(small_model: torch.nn.Module, tmp_path: Path,
                                                flags: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.pth"
    save_checkpoint(small_model, path)
    assert main(["summary", "--checkpoint", str(path), *flags]) == 2
    assert f"--checkpoint decides the model, so {flags[0]} cannot be used with it" in \
        capsys.readouterr().err


def test_download_checks_the_hash_in_the_file_name(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    import densevis.weights
    from densevis.weights import download_torchvision_weights

    payload = b"pretend weights"
    digest = hashlib.sha256(payload).hexdigest()[:8]
    served = tmp_path / "served"
    served.mkdir()
    (served / f"densenet121-{digest}.pth").write_bytes(payload)
    (served / "densenet169-00000000.pth").write_bytes(payload)
    monkeypatch.setattr(densevis.weights, "TORCHVISION_URLS", {
        "densenet121": (served / f"densenet121-{digest}.pth").as_uri(),
        "densenet169": (served / "densenet169-00000000.pth").as_uri(),
    })
    target = tmp_path / "cache"
    assert download_torchvision_weights("densenet121", target).read_bytes() == payload
    with pytest.raises(DenseVisError, match="densenet169-00000000.pth is not the published"):
        download_torchvision_weights("densenet169", target)
    assert sorted(p.name for p in target.iterdir()) == [f"densenet121-{digest}.pth"]
