"""Real weights: load and save checkpoints safely, infer their config, download torchvision's.

Loading never runs code from the file: a PyTorch zip file is first checked with
``torch.serialization.get_unsafe_globals_in_checkpoint`` and then read with
``torch.load(..., weights_only=True)`` (its restricted unpickler refuses any global that is not
a tensor or plain container); ``.safetensors`` files go through the ``safetensors`` package.
The tensors' declared sizes (shape x dtype, stride-0 expansions included) are held against the
memory cap before a model is built or any tensor is expanded. The feature-reuse heat map
computed from loaded weights lives in ``densevis.reuse_measure``.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import re
import struct
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from densevis.config import DenseNetConfig, matching_preset
from densevis.devices import resolve_device
from densevis.errors import DenseVisError
from densevis.memory_cap import check_bytes, check_memory
from densevis.model import DenseNet
from densevis.units import format_bytes

DEFAULT_MAX_BYTES = 1024**3  # refuse files over 1 GiB (densenet161 is 111 MiB)

TORCHVISION_URLS: dict[str, str] = {
    "densenet121": "https://download.pytorch.org/models/densenet121-a639ec97.pth",
    "densenet169": "https://download.pytorch.org/models/densenet169-b2777c0a.pth",
    "densenet201": "https://download.pytorch.org/models/densenet201-c1103571.pth",
    "densenet161": "https://download.pytorch.org/models/densenet161-8d451a50.pth",
}

# torchvision renames these on load: "denselayer1.norm.1.weight" -> "denselayer1.norm1.weight".
LEGACY_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)
_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "weights")
_MAX_NAMES = 10


@dataclass
class LoadedCheckpoint:
    """A checkpoint loaded into a densevis DenseNet, and what was done to get there."""

    model: DenseNet
    config: DenseNetConfig
    source: str  # file path, or the name given for uploaded bytes
    format: str  # "pytorch" or "safetensors"
    file_bytes: int
    tensors: int  # tensors in the file's state_dict
    config_from: str  # "argument", "file" (saved by densevis) or "inferred" (from shapes)
    renamed_legacy_keys: int = 0  # torchvision's old "norm.1" style keys renamed
    stripped_prefix: str = ""  # e.g. "module." (DataParallel) removed from every key
    filled_batch_counters: int = 0  # BatchNorm num_batches_tracked absent from old files
    source_dtype: str = "float32"
    notes: list[str] = field(default_factory=list)
    non_finite: list[str] = field(default_factory=list)  # tensors holding NaN or infinity

    @property
    def warning(self) -> str | None:
        """One line for the user when some weights are NaN or infinite, else None."""
        if not self.non_finite:
            return None
        return (f"{len(self.non_finite)} tensor(s) in {self.source!r} hold NaN or infinite "
                f"values ({_names(self.non_finite)}); results computed from them are NaN "
                "(null in JSON)")


# --------------------------------------------------------------------------- reading


def _read(path_or_bytes: Any, max_bytes: int, name: str | None) -> tuple[bytes, str]:
    """The file's bytes and a display name, refusing files over the size limit."""
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        data = bytes(path_or_bytes)
        source = name or "uploaded bytes"
    elif isinstance(path_or_bytes, str | os.PathLike):
        path = Path(path_or_bytes)
        source = name or str(path)
        if not path.is_file():
            raise DenseVisError(f"checkpoint {source!r} does not exist or is not a file")
        size = path.stat().st_size
        if size > max_bytes:
            raise DenseVisError(
                f"checkpoint {source!r} is {format_bytes(size)}, over the "
                f"{format_bytes(max_bytes)} limit"
            )
        data = path.read_bytes()
    elif hasattr(path_or_bytes, "getvalue") or hasattr(path_or_bytes, "read"):
        # e.g. Streamlit's UploadedFile, or any binary file object
        source = name or str(getattr(path_or_bytes, "name", "uploaded file"))
        reader = getattr(path_or_bytes, "getvalue", None)
        data = reader() if reader is not None else path_or_bytes.read(max_bytes + 1)
    else:
        raise DenseVisError(
            f"cannot read a checkpoint from {type(path_or_bytes).__name__}; "
            "give a path or bytes"
        )
    if len(data) > max_bytes:
        raise DenseVisError(
            f"checkpoint {source!r} is {format_bytes(len(data))}, over the "
            f"{format_bytes(max_bytes)} limit"
        )
    if not data:
        raise DenseVisError(f"checkpoint {source!r} is empty")
    return data, source


def read_state_dict(path_or_bytes: Any, max_bytes: int | None = None, name: str | None = None
                    ) -> tuple[dict[str, torch.Tensor], str]:
    """The tensors of a state_dict file for a module densevis did not build (a path, bytes or
    an upload), read under ``load_checkpoint``'s rules: size cap, safetensors or the
    ``weights_only`` unpickler, wrappers unwrapped, a "module." prefix stripped."""
    data, source = _read(path_or_bytes, max_bytes or DEFAULT_MAX_BYTES, name)
    if _safetensors_header(data) is not None:
        tensors, _ = _load_safetensors(data, source)
    else:
        tensors, _ = _unwrap(_load_pytorch(data, source), source)
    return _strip_prefix(tensors)[0], source


def _safetensors_header(data: bytes) -> dict[str, Any] | None:
    """The JSON header if ``data`` looks like a safetensors file, else None."""
    if len(data) < 10:
        return None
    (length,) = struct.unpack("<Q", data[:8])
    if length > len(data) - 8 or data[8:9] != b"{":
        return None
    try:
        header = json.loads(data[8 : 8 + length])
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return header if isinstance(header, dict) else None


def _load_safetensors(data: bytes, source: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from safetensors import SafetensorError
    from safetensors.torch import load as load_safetensors

    header = _safetensors_header(data) or {}
    try:
        tensors = load_safetensors(data)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise DenseVisError(
            f"{source!r} is not a valid safetensors file (truncated or damaged?): {error}"
        ) from None
    meta = header.get("__metadata__") or {}
    config = None
    if "densevis_config" in meta:
        try:
            config = json.loads(meta["densevis_config"])
        except json.JSONDecodeError:
            config = None
    return dict(tensors), config


def _refused(source: str, names: list[str]) -> DenseVisError:
    named = f" ({', '.join(sorted(set(names))[:3])})" if names else ""
    return DenseVisError(
        f"refused {source!r}: it is not plain weights — loading it would need to run pickled "
        f"code{named}, or it is damaged; nothing from it was executed. Save only the "
        "state_dict (torch.save(model.state_dict(), path)) or use .safetensors"
    )


def _load_pytorch(data: bytes, source: str) -> Any:
    """torch.load with weights_only=True, after torch's own static check of a zip file's
    globals; any pickle that needs code is refused, never run."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
        except Exception:  # damaged archive or pickle: torch.load below says what it can
            unsafe = []
        if unsafe:
            raise _refused(source, unsafe)
    try:
        with warnings.catch_warnings():  # "Detected pickle protocol 4" is noise for users
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise _refused(source, []) from None
    except (RuntimeError, EOFError, KeyError, ValueError, IndexError, struct.error,
            UnicodeDecodeError, AttributeError, TypeError, OSError) as error:
        detail = str(error).split(".")[0][:120]
        raise DenseVisError(
            f"{source!r} is not a readable PyTorch checkpoint (truncated or damaged?)"
            + (f": {detail}" if detail else "")
        ) from None


def _unwrap(obj: Any, source: str) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    """The state_dict inside a file (maybe wrapped in {"state_dict": ...}) and its config."""
    if not isinstance(obj, Mapping):
        raise DenseVisError(
            f"{source!r} holds a {type(obj).__name__}, not a state_dict (a mapping of names to "
            "tensors)"
        )
    config = obj.get("config") if isinstance(obj.get("config"), Mapping) else None
    for key in _WRAPPER_KEYS:
        inner = obj.get(key)
        if isinstance(inner, Mapping) and inner and all(
            isinstance(v, torch.Tensor) for v in inner.values()
        ):
            obj = inner
            break
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise DenseVisError(f"{source!r} holds no tensors: it is not a model state_dict")
    return tensors, dict(config) if config is not None else None


def rename_legacy_keys(state_dict: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """torchvision's rename of old keys ("norm.1.weight" -> "norm1.weight"); returns the count."""
    renamed: dict[str, Any] = {}
    count = 0
    for key, value in state_dict.items():
        match = LEGACY_KEY.match(key)
        if match:
            key = match.group(1) + match.group(2)
            count += 1
        renamed[key] = value
    return renamed, count


def _strip_prefix(state_dict: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Remove a prefix every key shares (DataParallel's "module.")."""
    for prefix in ("module.", "model."):
        if all(key.startswith(prefix) for key in state_dict):
            return {key[len(prefix):]: v for key, v in state_dict.items()}, prefix
    return state_dict, ""


# --------------------------------------------------------------------------- config


def _need(state_dict: Mapping[str, torch.Tensor], key: str, dims: int) -> tuple[int, ...]:
    """The shape of a weight that must be there, with ``dims`` dimensions, none of them 0."""
    if key not in state_dict:
        raise DenseVisError(
            f"cannot infer the DenseNet config: no tensor {key!r} (is this a DenseNet "
            "checkpoint with torchvision's key names?)"
        )
    return _shape(state_dict[key], key, dims)


def _shape(tensor: torch.Tensor, key: str, dims: int) -> tuple[int, ...]:
    shape = tuple(int(size) for size in tensor.shape)
    if len(shape) != dims or 0 in shape:
        what = "a convolution" if dims == 4 else "a linear layer"
        raise DenseVisError(
            f"cannot infer the DenseNet config: {key} has shape {shape}, not {what}'s "
            f"{dims}-d weight with no empty dimension"
        )
    return shape


def _compression(pairs: list[tuple[int, int]]) -> float:
    """A theta with floor(theta * C_in) == C_out for every transition, as round as possible."""
    if not pairs:
        return 0.5
    low = max(out / channels for channels, out in pairs)
    high = min((out + 1) / channels for channels, out in pairs)
    if low >= high:
        raise DenseVisError(
            "cannot infer compression: the transitions' channel counts fit no single theta "
            f"({', '.join(f'{c}->{o}' for c, o in pairs)})"
        )
    for digits in range(1, 7):
        candidate = round(low, digits)
        for value in (candidate, candidate + 10**-digits):
            if low <= value < high and 0 < value <= 1:
                return round(value, digits)
    return low


def infer_config(state_dict: Mapping[str, torch.Tensor]) -> DenseNetConfig:
    """The DenseNetConfig whose parameters have these shapes (torchvision key names).

    Growth rate from each conv2's outputs, layers per block from the denselayer keys, bn_size
    from conv1's width, compression from the transition convs, classes from the classifier;
    a 7x7 conv0 means the imagenet stem, 3x3 the cifar stem. Dropout cannot be seen in weights
    (0), and the input size is the stem's usual one (224 or 32).
    """
    init, in_channels, kernel, _ = _need(state_dict, "features.conv0.weight", 4)
    stem = {7: "imagenet", 3: "cifar"}.get(kernel)
    if stem is None:
        raise DenseVisError(f"conv0 is {kernel}x{kernel}; only 7x7 (imagenet) and 3x3 (cifar) "
                            "stems are known")
    layer_key = re.compile(r"^features\.denseblock(\d+)\.denselayer(\d+)\.conv2\.weight$")
    layers: dict[int, set[int]] = {}
    growth: set[int] = set()
    for key, value in state_dict.items():
        found = layer_key.match(key)
        if found:
            layers.setdefault(int(found.group(1)), set()).add(int(found.group(2)))
            growth.add(_shape(value, key, 4)[0])
    if not layers:
        raise DenseVisError("cannot infer the DenseNet config: no dense layers "
                            "(features.denseblockB.denselayerL.conv2.weight) in the file")
    blocks = sorted(layers)
    if blocks != list(range(1, len(blocks) + 1)):
        raise DenseVisError(f"dense blocks are not numbered 1..N: found {blocks}")
    block_config = []
    for block in blocks:
        numbers = sorted(layers[block])
        if numbers != list(range(1, len(numbers) + 1)):
            raise DenseVisError(f"dense block {block}: layers are not numbered 1..L")
        block_config.append(len(numbers))
    if len(growth) != 1:
        raise DenseVisError(f"dense layers disagree on the growth rate: {sorted(growth)}")
    k = growth.pop()
    bottleneck_key = "features.denseblock1.denselayer1.conv1.weight"
    if bottleneck_key not in state_dict:
        bn_size = 0
    elif (width := _need(state_dict, bottleneck_key, 4)[0]) % k:
        raise DenseVisError(f"bottleneck width {width} is not a multiple of k = {k}")
    else:
        bn_size = width // k
    pairs = []
    for block in blocks[:-1]:
        out, channels, *_ = _need(state_dict, f"features.transition{block}.conv.weight", 4)
        pairs.append((channels, out))
    classes, _ = _need(state_dict, "classifier.weight", 2)
    config = DenseNetConfig(
        growth_rate=k,
        block_config=tuple(block_config),
        num_init_features=init,
        bn_size=bn_size,
        compression=_compression(pairs),
        num_classes=classes,
        input_size=(224, 224) if stem == "imagenet" else (32, 32),
        in_channels=in_channels,
        stem=stem,  # type: ignore[arg-type]
    )
    name = matching_preset(config, ignoring=("input_size",))
    return config.replace(name=name) if name else config


# --------------------------------------------------------------------------- loading


def _names(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_NAMES])
    more = len(keys) - _MAX_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def _check_keys(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str
                ) -> tuple[dict[str, torch.Tensor], int]:
    """Report missing, unexpected and mis-shaped keys by name; fill absent BN counters."""
    expected = model.state_dict()
    filled = 0
    for key, value in expected.items():
        if key.endswith("num_batches_tracked") and key not in state_dict:
            state_dict[key] = torch.zeros_like(value, device="cpu")
            filled += 1
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    shaped = [
        f"{key} (file {tuple(state_dict[key].shape)}, model {tuple(value.shape)})"
        for key, value in expected.items()
        if key in state_dict and tuple(state_dict[key].shape) != tuple(value.shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {_names(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {_names(unexpected)}")
    if shaped:
        problems.append(f"{len(shaped)} mis-shaped tensor(s): {_names(shaped)}")
    if problems:
        raise DenseVisError(f"{source!r} does not fit the config: " + "; ".join(problems))
    return state_dict, filled


def load_checkpoint(
    path_or_bytes: str | os.PathLike[str] | bytes | Any,
    config: DenseNetConfig | None = None,
    device: str | torch.device | None = "auto",
    max_bytes: int = DEFAULT_MAX_BYTES,
    name: str | None = None,
    max_memory: int | None = None,
) -> LoadedCheckpoint:
    """Load a state_dict file (.pth/.pt or .safetensors; a path, bytes or an uploaded file)
    into a densevis DenseNet in eval mode.

    The config is ``config`` if given, else the one densevis saved in the file, else inferred
    from the tensors' shapes. torchvision's legacy keys are renamed, a "module." prefix is
    stripped, and files wrapping the tensors in {"state_dict": ...} or {"model": ...} work.
    Raises DenseVisError for unsafe, damaged, oversized or mismatching files.
    """
    data, source = _read(path_or_bytes, max_bytes, name)
    notes: list[str] = []
    if _safetensors_header(data) is not None:
        fmt = "safetensors"
        tensors, saved_config = _load_safetensors(data, source)
    else:
        fmt = "pytorch"
        tensors, saved_config = _unwrap(_load_pytorch(data, source), source)
    _check_declared_size(tensors, source, max_memory)
    tensors, prefix = _strip_prefix(tensors)
    if prefix:
        notes.append(f"removed the prefix {prefix!r} from every key")
    count = len(tensors)
    tensors, renamed = rename_legacy_keys(tensors)
    if renamed:
        notes.append(f"renamed {renamed} legacy torchvision key(s) (norm.1 -> norm1)")
    dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values()
                     if t.is_floating_point()})
    if config is not None:
        config_from = "argument"
    elif saved_config is not None:
        try:
            config = DenseNetConfig.from_dict(dict(saved_config))
        except (TypeError, DenseVisError) as error:
            raise DenseVisError(f"{source!r}: the saved config is invalid: {error}") from None
        config_from = "file"
    else:
        config = infer_config(tensors)
        config_from = "inferred"
    target = resolve_device(device)
    check_memory(config, max_memory, device=target)
    with torch.device("meta"):  # shapes only: every value comes from the file
        model = DenseNet(config, init_weights=False)
    tensors, filled = _check_keys(model, tensors, source)
    model = model.to_empty(device=target)
    model.load_state_dict(tensors, strict=True)
    non_finite = [key for key, value in model.state_dict().items() if not _finite(value)]
    if dtypes and dtypes != ["float32"]:
        notes.append(f"file tensors are {', '.join(dtypes)}; loaded into float32")
    return LoadedCheckpoint(
        model=model.eval(),
        config=config,
        source=source,
        format=fmt,
        file_bytes=len(data),
        tensors=count,
        config_from=config_from,
        renamed_legacy_keys=renamed,
        stripped_prefix=prefix,
        filled_batch_counters=filled,
        source_dtype=dtypes[0] if len(dtypes) == 1 else ",".join(dtypes) or "none",
        notes=notes,
        non_finite=non_finite,
    )


def _finite(tensor: torch.Tensor, chunk: int = 1 << 22) -> bool:
    """True when no value is NaN or infinite, without a temporary the size of the tensor: a
    finite sum proves it (a NaN or an infinity propagates); otherwise (NaN, or an overflowing
    sum) the values are checked slice by slice."""
    if not tensor.is_floating_point() or math.isfinite(float(tensor.sum())):
        return True
    flat = tensor.reshape(-1)
    return all(bool(torch.isfinite(flat[start:start + chunk]).all())
               for start in range(0, flat.numel(), chunk))


def _check_declared_size(tensors: Mapping[str, torch.Tensor], source: str,
                         max_memory: int | None) -> None:
    """Hold the tensors' declared sizes (shape x dtype) against the memory cap before any is
    copied or expanded: a stride-0 view takes no room in the file but its full size in a
    model."""
    largest = max(tensors, key=lambda key: tensors[key].numel())
    declared = sum(value.numel() * value.element_size() for value in tensors.values())
    shape = tuple(tensors[largest].shape)
    check_bytes(declared, f"the tensors {source!r} declares (largest: {largest} {shape})",
                max_memory)


def save_checkpoint(model: DenseNet, path: str | os.PathLike[str]) -> Path:
    """Save weights and config: .safetensors (config in the metadata) or a torch file
    ({"state_dict", "config"}, loadable with weights_only=True)."""
    path = Path(path)
    state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path),
                  metadata={"densevis_config": json.dumps(model.config.to_dict())})
    else:
        torch.save({"state_dict": state, "config": model.config.to_dict()}, path)
    return path


def download_torchvision_weights(name: str, directory: str | os.PathLike[str]) -> Path:
    """Download torchvision's ImageNet weights for a preset into ``directory`` (network).

    ``torch.hub.download_url_to_file`` writes to a uniquely named partial file (two downloads
    never collide) and checks the SHA-256 prefix the file name carries ("-a639ec97") before
    moving it into place; a mismatch leaves nothing behind.
    """
    key = str(name).strip().lower()
    if key not in TORCHVISION_URLS:
        raise DenseVisError(
            f"no torchvision weights for {name!r}; known: {', '.join(TORCHVISION_URLS)}"
        )
    url = TORCHVISION_URLS[key]
    file_name = url.rsplit("/", 1)[1]
    target = Path(directory) / file_name
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = torch.hub.HASH_REGEX.search(file_name)
    try:
        torch.hub.download_url_to_file(url, str(target), progress=False,
                                       hash_prefix=digest.group(1) if digest else None)
    except RuntimeError as error:  # torch.hub's hash check
        raise DenseVisError(f"downloaded {file_name} is not the published file: {error}") from None
    except OSError as error:
        raise DenseVisError(f"could not download {url}: {error}") from None
    return target
