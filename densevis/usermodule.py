"""Your own model for the command line and the app: ``FILE.py:FACTORY`` or
``package.module:FACTORY`` (a function or class returning an ``nn.Module``, or a module
instance), keyword arguments as JSON, and a state_dict loaded with densevis's checkpoint
safety rules. Every problem is one ``DenseVisError`` line naming it."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from densevis.errors import DenseVisError

if TYPE_CHECKING:  # torch is imported where a module is built (the app imports this early)
    from torch import nn

SPEC_HELP = "FILE.py:FACTORY or package.module:FACTORY"


@dataclass(frozen=True)
class ModuleSpec:
    """Where a custom module comes from: hashable, so the app can cache on it."""

    spec: str  # FILE.py:FACTORY or package.module:FACTORY
    args: str = ""  # the factory's keyword arguments as JSON ("" = none)
    checkpoint: str = ""  # a state_dict file to load into it ("" = random weights)
    input_size: str = ""  # "32", "32x48" or "3x32x48" ("" = the module's own input_size)

    @property
    def label(self) -> str:
        return self.spec.rsplit("/", 1)[-1]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModuleSpec:
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError):
            raise DenseVisError(f"not a module description: {text!r}") from None


def parse_module_args(text: str | None) -> dict[str, Any]:
    """'{"depth": 40}' -> {"depth": 40}; empty -> {}."""
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise DenseVisError(f"--module-args is not valid JSON ({error.msg} at column "
                            f"{error.colno}): {text!r}") from None
    if not isinstance(value, dict):
        raise DenseVisError(f"--module-args must be a JSON object like '{{\"depth\": 40}}', "
                            f"got {text!r}")
    return value


def _import(target: str) -> Any:
    """The Python module of FILE.py or package.module."""
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target).expanduser()
        if not path.is_file():
            raise DenseVisError(f"module file {target!r} does not exist or is not a file")
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(f"densevis_user_{digest}", path)
        if spec is None or spec.loader is None:
            raise DenseVisError(f"cannot import {target!r} as Python")
        module = importlib.util.module_from_spec(spec)
        folder = str(path.resolve().parent)
        sys.path.insert(0, folder)  # so the file can import its neighbours
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as error:
            raise DenseVisError(f"importing {target!r} failed: {_one_line(error)}") from None
        finally:
            sys.path.remove(folder)
        return module
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as error:
        raise DenseVisError(f"no Python module {error.name or target!r} (from {target!r}); "
                            f"give {SPEC_HELP}") from None
    except (Exception, SystemExit) as error:
        raise DenseVisError(f"importing {target!r} failed: {_one_line(error)}") from None


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def build_module(spec: str, module_args: dict[str, Any] | None = None) -> nn.Module:
    """Import ``spec`` and make the module (calling the factory with ``module_args``)."""
    from torch import nn

    target, colon, attribute = spec.strip().rpartition(":")
    if not colon or not target or not attribute.isidentifier():
        raise DenseVisError(f"--module must look like {SPEC_HELP}, got {spec!r}")
    source = getattr(_import(target), attribute, None)
    if source is None:
        raise DenseVisError(f"{target!r} has no attribute {attribute!r}")
    if isinstance(source, nn.Module):
        if module_args:
            raise DenseVisError(f"{attribute!r} is a module instance: --module-args needs a "
                                "factory function or class")
        return source
    if not callable(source):
        raise DenseVisError(f"{attribute!r} in {target!r} is a {type(source).__name__}, not a "
                            "factory or an nn.Module")
    try:
        result = source(**(module_args or {}))
    except (Exception, SystemExit) as error:
        raise DenseVisError(f"{attribute}(**{module_args or {}}) raised "
                            f"{_one_line(error)}") from None
    if not isinstance(result, nn.Module):
        raise DenseVisError(f"{attribute} returned a {type(result).__name__}, not a "
                            "torch.nn.Module")
    return result


def load_weights(module: nn.Module, checkpoint: str | Any, name: str | None = None) -> str:
    """Load a state_dict file into ``module`` (same safety rules as ``load_checkpoint``);
    returns the file's display name."""
    from densevis.weights import read_state_dict

    tensors, source = read_state_dict(checkpoint, name=name)
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(key for key in set(expected) & set(tensors)
                   if tuple(expected[key].shape) != tuple(tensors[key].shape))
    problems = [f"{len(keys)} {what} ({', '.join(keys[:3])}{', ...' if len(keys) > 3 else ''})"
                for what, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                   ("keys of another shape", wrong)) if keys]
    if problems:
        raise DenseVisError(f"checkpoint {source!r} does not fit {type(module).__name__}: "
                            f"{'; '.join(problems)}")
    module.load_state_dict(tensors, strict=True)
    return source


def trace_module_spec(spec: ModuleSpec, device: Any = None) -> Any:
    """The trace of the module a ``ModuleSpec`` names (its input size from the spec)."""
    from densevis.tracer import trace

    return trace(load_module(spec, device), input_size=parse_module_input_size(
        spec.input_size or None))


def load_module(spec: ModuleSpec, device: Any = None) -> nn.Module:
    """The module a ``ModuleSpec`` names, with its weights, in eval mode on ``device``."""
    module = build_module(spec.spec, parse_module_args(spec.args))
    if spec.checkpoint:
        load_weights(module, spec.checkpoint)
    if device is not None:
        from densevis.devices import resolve_device

        module = module.to(resolve_device(device))
    return module.eval()


def parse_module_input_size(text: str | None) -> tuple[int, ...] | None:
    """'32', '32x48' (H, W) or '3x32x32' (C, H, W) -> a tuple; None stays None."""
    if text is None:
        return None
    try:
        values = tuple(int(part) for part in str(text).lower().replace(",", "x").split("x"))
    except ValueError:
        values = ()
    if len(values) not in (1, 2, 3) or min(values) < 1:
        raise DenseVisError(f"input size must look like 32, 32x48 or 3x32x48, got {text!r}")
    return values * 2 if len(values) == 1 else values
