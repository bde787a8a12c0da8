"""Trace any ``nn.Module``: record every op that makes a tensor, and who made each input.

How: leaf modules are recorded with forward hooks (their name, parameters and kernel), and
every functional call outside a leaf module (``torch.cat``, ``+``, ``F.relu``, ...) with a
``TorchFunctionMode``. Both see the model's own Python forward as it runs, so concatenations
built in a loop, lists passed between modules and in-place ops are all seen as they happen.
(``torch.fx`` was not used: symbolic tracing fails on data-dependent Python such as
``if any(t.requires_grad ...)`` in densevis's own dense layer, and it loses module calls
inside control flow.)

Speed: the forward pass runs on the ``meta`` device (parameters swapped for meta tensors with
``torch.func.functional_call``): every shape is exact and no arithmetic is done. A module
that cannot run on meta (it reads tensor values, or keeps plain CPU tensors) is run for real
on zeros where it lives.

What is recorded here is plain data (``RawOp``); ``densevis.dataflow`` finds the dense blocks
in it without torch.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.modules.module import (
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from torch.overrides import TorchFunctionMode

from densevis.dataflow import DataFlow, FoundBlock
from densevis.errors import DenseVisError
from densevis.metrics import flops_from_macs
from densevis.records import Block, Edge, Link, Op, Totals, Trace

NETWORK_INPUT = -1  # producer index of the network input

# Leaf module classes -> op kind (first match wins; subclasses count). The DenseNet tracer
# reads this list too, with densevis's own Concat module in front.
MODULE_KINDS: tuple[tuple[type[nn.Module], str], ...] = (
    (nn.ConvTranspose2d, "convtranspose"),
    (nn.Conv1d, "conv"),
    (nn.Conv2d, "conv"),
    (nn.Conv3d, "conv"),
    (nn.BatchNorm2d, "batchnorm"),
    (nn.BatchNorm1d, "batchnorm"),
    (nn.ReLU, "relu"),
    (nn.MaxPool2d, "maxpool"),
    (nn.AvgPool2d, "avgpool"),
    (nn.AdaptiveAvgPool2d, "avgpool"),
    (nn.Linear, "linear"),
    (nn.Dropout, "dropout"),
    (nn.Upsample, "upsample"),
)

# Functional names (leading/trailing underscores and the in-place "i" stripped) -> op kind.
_FUNCTION_KINDS = {
    "cat": "concat", "concat": "concat", "concatenate": "concat",
    "add": "add", "radd": "add",
    "relu": "relu", "conv1d": "conv", "conv2d": "conv", "conv3d": "conv",
    "conv_transpose2d": "convtranspose", "linear": "linear", "batch_norm": "batchnorm",
    "max_pool2d": "maxpool", "max_pool2d_with_indices": "maxpool", "avg_pool2d": "avgpool",
    "adaptive_avg_pool2d": "avgpool", "dropout": "dropout", "interpolate": "upsample",
    "matmul": "matmul", "mm": "matmul", "bmm": "matmul", "mul": "mul", "rmul": "mul",
}
# Calls that only re-view their input: the output is treated as the input (no op).
_PASS_THROUGH = frozenset({
    "flatten", "view", "reshape", "squeeze", "unsqueeze", "view_as", "reshape_as",
    "contiguous", "detach", "to", "float", "type_as",
})


@dataclass
class RawOp:
    """One recorded op, before the data-flow analysis places it in a stage."""

    name: str
    kind: str
    inputs: list[int]  # producer of each tensor input, in order (NETWORK_INPUT = the image)
    input_shape: tuple[int, ...]  # first input's shape, channels = all inputs' channels
    output_shape: tuple[int, ...]
    in_channels: int
    out_channels: int
    kernel: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] | None = None
    params: int = 0
    macs: int = 0
    activation_bytes: int = 0
    module_path: str = ""  # the module the op belongs to ("" = the root's forward)

    @property
    def flops(self) -> int:
        return flops_from_macs(self.macs)


@dataclass
class Recording:
    """Everything one forward pass showed."""

    ops: list[RawOp]
    params: int
    dtype: str
    device: str
    input_shape: tuple[int, ...]
    top_level: dict[str, bool] = field(default_factory=dict)  # child name -> has children


def _pair(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return (value, value)
    values = tuple(int(v) for v in value)
    if len(values) == 1:
        return (values[0], values[0])
    return (values[0], values[1]) if len(values) == 2 else None


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    """Tensors in an argument, in order (lists and tuples flattened)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _channels(shape: tuple[int, ...]) -> int:
    return shape[1] if len(shape) >= 2 else (shape[0] if shape else 1)


def _function_name(func: Any) -> str:
    name = getattr(func, "__name__", "") or type(func).__name__
    name = name.strip("_")
    if name.startswith("i") and name[1:] in ("add", "mul", "sub"):
        name = name[1:]
    return name.removesuffix("_") if name.endswith("_") else name


def _module_kind(module: nn.Module, inner: list[str]) -> str:
    for cls, kind in MODULE_KINDS:
        if isinstance(module, cls):
            return kind
    if "concat" in inner:
        return "concat"
    if len(inner) == 1:
        return inner[0]
    return type(module).__name__.lower()


def _window(module: nn.Module | None, kind: str, function: str, args: tuple, kwargs: dict,
            in_shape: tuple[int, ...]) -> tuple[Any, Any, Any]:
    """(kernel, stride, padding) of a conv or pooling op, from its module or its arguments."""
    if kind in ("conv", "convtranspose"):
        if module is not None and hasattr(module, "kernel_size"):
            return (_pair(module.kernel_size), _pair(module.stride), _pair(module.padding))
        weight = args[1] if len(args) > 1 else kwargs.get("weight")
        kernel = tuple(weight.shape[2:]) if isinstance(weight, torch.Tensor) else None
        stride = args[3] if len(args) > 3 else kwargs.get("stride", 1)
        padding = args[4] if len(args) > 4 else kwargs.get("padding", 0)
        return _pair(kernel), _pair(stride), _pair(padding) if not isinstance(padding, str) \
            else None
    if kind not in ("maxpool", "avgpool"):
        return None, None, None
    adaptive = isinstance(module, nn.AdaptiveAvgPool2d) or function.startswith("adaptive")
    if module is not None and not adaptive:
        return (_pair(module.kernel_size), _pair(module.stride or module.kernel_size),
                _pair(module.padding))
    if adaptive or len(in_shape) < 4:
        kernel = (in_shape[2], in_shape[3]) if len(in_shape) == 4 else None
        return kernel, kernel, (0, 0) if kernel else None
    kernel = args[1] if len(args) > 1 else kwargs.get("kernel_size")
    stride = args[2] if len(args) > 2 else kwargs.get("stride")
    padding = args[3] if len(args) > 3 else kwargs.get("padding", 0)
    return _pair(kernel), _pair(stride or kernel), _pair(padding)


def _macs(module: nn.Module | None, kind: str, args: tuple, kwargs: dict,
          in_channels: int, out: torch.Tensor, first: torch.Tensor | None) -> int:
    """Multiply-accumulates of convolutions, linear layers and matrix products only."""
    weight = getattr(module, "weight", None) if module is not None else (
        args[1] if len(args) > 1 else kwargs.get("weight"))
    if kind == "conv" and isinstance(weight, torch.Tensor):
        return out.numel() * math.prod(weight.shape[1:])
    if kind == "convtranspose" and isinstance(weight, torch.Tensor) and first is not None:
        return first.numel() * math.prod(weight.shape[1:])
    if kind == "linear" and isinstance(weight, torch.Tensor):
        return out.numel() * int(weight.shape[-1])
    if kind == "matmul" and first is not None and first.dim() >= 1:
        return out.numel() * int(first.shape[-1])
    return 0


class _Recorder(TorchFunctionMode):
    """Module hooks and a function mode that together write down every tensor-making op."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.meta = False  # on meta tensors, shape-preserving ops skip torch's slow meta path
        self.paths = {module: name for name, module in model.named_modules()}
        self.leaves = {m for m in self.paths if next(m.children(), None) is None}
        self.ops: list[RawOp] = []
        self.producer: dict[int, int] = {}
        self.alive: list[torch.Tensor] = []  # keeps every recorded tensor's id unique
        self.stack: list[str] = []  # paths of the modules being run
        self.leaf_depth = 0
        self.inner: list[str] = []  # kinds of the calls inside the current leaf module
        self.counts: dict[str, int] = {}
        self.handles: list[Any] = []

    # ------------------------------------------------------------------ hooks

    def attach(self, image: torch.Tensor) -> None:
        """Two global module hooks (cheaper than two per module), for this thread's calls of
        this model's modules only."""
        self.producer[id(image)] = NETWORK_INPUT
        self.alive.append(image)
        self.thread = threading.get_ident()
        self.handles = [
            register_module_forward_pre_hook(self._enter),
            register_module_forward_hook(self._leave, with_kwargs=True),
        ]

    def detach(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()
        self.alive.clear()

    def _enter(self, module: nn.Module, args: Any) -> None:
        if module not in self.paths or threading.get_ident() != self.thread:
            return
        self.stack.append(self.paths[module])
        if module in self.leaves:
            if self.leaf_depth == 0:
                self.inner = []
            self.leaf_depth += 1

    def _leave(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        if module not in self.paths or threading.get_ident() != self.thread:
            return
        path = self.stack.pop()
        if module not in self.leaves:
            return
        self.leaf_depth -= 1
        if self.leaf_depth:
            return
        out = next(_tensors(output), None)
        if out is None:
            return
        first = next(_tensors(args), None)
        if out is first and not self.inner and first is not None and id(first) in self.producer:
            self.producer[id(out)] = self.producer[id(first)]  # an identity: no op
            return
        kind = _module_kind(module, self.inner)
        name = path or type(module).__name__.lower()
        calls = self.counts.get(name, 0)
        self.counts[name] = calls + 1
        name = f"{name}:{calls + 1}" if calls else name
        params = sum(p.numel() for p in module.parameters(recurse=False))
        self._record(name, kind, module, (*args, *kwargs.values()), {}, out, params,
                     path.rsplit(".", 1)[0] if "." in path else "")

    # ------------------------------------------------------------------ functions

    def __torch_function__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = _on_meta(func, args, kwargs) if self.meta else None
        if out is None:
            out = func(*args, **kwargs)
        if not isinstance(out, torch.Tensor):
            return out
        name = _function_name(func)
        kind = _FUNCTION_KINDS.get(name, name)
        if self.leaf_depth:
            self.inner.append(kind)
            return out
        first = next(_tensors(args), None)
        if first is None or id(first) not in self.producer:
            return out  # a constant made inside forward, not data flow from the image
        in_place = any(out is t for t in _tensors(args))
        if name in _PASS_THROUGH or (in_place and not _is_in_place(func)):
            self.producer[id(out)] = self.producer[id(first)]
            self.alive.append(out)
            return out
        scope = self.stack[-1] if self.stack else ""
        count = self.counts.get(f"{scope}.{name}", 0)
        self.counts[f"{scope}.{name}"] = count + 1
        label = f"{scope}.{name}" if scope else name
        self._record(label if not count else f"{label}_{count}", kind, None, args, kwargs, out,
                     0, scope, name)
        return out

    # ------------------------------------------------------------------ the record

    def _record(self, name: str, kind: str, module: nn.Module | None, args: tuple,
                kwargs: dict, out: torch.Tensor, params: int, scope: str,
                function: str = "") -> None:
        tensors = [t for t in _tensors(args) if id(t) in self.producer] or list(_tensors(args))
        if kind != "concat":
            tensors = tensors[:1] if kind not in ("add", "mul", "matmul") else tensors
        first = tensors[0] if tensors else None
        in_shape = tuple(first.shape) if first is not None else ()
        in_channels = (sum(_channels(tuple(t.shape)) for t in tensors) if kind == "concat"
                       else _channels(in_shape))
        if kind == "concat" and len(in_shape) >= 2:
            in_shape = (in_shape[0], in_channels, *in_shape[2:])
        kernel, stride, padding = _window(module, kind, function, args, kwargs, in_shape)
        macs = _macs(module, kind, args, kwargs, in_channels, out, first)
        in_place = any(out is t for t in tensors)
        self.ops.append(RawOp(
            name=name, kind=kind,
            inputs=[self.producer.get(id(t), NETWORK_INPUT) for t in tensors],
            input_shape=in_shape, output_shape=tuple(out.shape),
            in_channels=in_channels, out_channels=_channels(tuple(out.shape)),
            kernel=kernel, stride=stride, padding=padding, params=params, macs=macs,
            activation_bytes=0 if in_place else out.numel() * out.element_size(),
            module_path=scope,
        ))
        self.producer[id(out)] = len(self.ops) - 1
        self.alive.append(out)


def _argument(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _window_shape(image: torch.Tensor, channels: int, kernel: Any, stride: Any, padding: Any,
                  dilation: Any = 1) -> tuple[int, ...] | None:
    """N, C, H, W out of a 2-D convolution or pooling window (floor mode), as torch computes."""
    sizes = [_pair(v) for v in (kernel, stride or kernel, padding, dilation)]
    if image.dim() != 4 or any(v is None for v in sizes):
        return None
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = sizes  # type: ignore[misc]
    height = (image.shape[2] + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    width = (image.shape[3] + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if height < 1 or width < 1:
        return None  # torch's own kernel says what is wrong
    return (image.shape[0], channels, height, width)


def _meta_shape(name: str, args: tuple, kwargs: dict) -> tuple[int, ...] | None:
    """Output shape of a common op from its arguments (None: ask torch's meta kernel)."""
    first = args[0] if args else None
    if name == "cat":
        tensors, dim = list(first or ()), _argument(args, kwargs, 1, "dim", 0)
        if not tensors or any(t.dim() != tensors[0].dim() for t in tensors):
            return None
        dim %= tensors[0].dim()
        rest = [t.shape[:dim] + t.shape[dim + 1:] for t in tensors]
        if any(shape != rest[0] for shape in rest):
            return None
        shape = list(tensors[0].shape)
        shape[dim] = sum(t.shape[dim] for t in tensors)
        return tuple(shape)
    if not isinstance(first, torch.Tensor):
        return None
    if name == "batch_norm":
        stats = _argument(args, kwargs, 1, "running_mean")
        fits = first.dim() >= 2 and stats is not None and stats.shape == (first.shape[1],)
        return tuple(first.shape) if fits else None
    if name in ("relu", "dropout"):
        return tuple(first.shape)
    if name == "conv2d":
        weight = _argument(args, kwargs, 1, "weight")
        padding = _argument(args, kwargs, 4, "padding", 0)
        groups = _argument(args, kwargs, 6, "groups", 1)
        if isinstance(padding, str) or first.dim() != 4 or \
                first.shape[1] != weight.shape[1] * groups:
            return None
        return _window_shape(first, int(weight.shape[0]), tuple(weight.shape[2:]),
                             _argument(args, kwargs, 3, "stride", 1), padding,
                             _argument(args, kwargs, 5, "dilation", 1))
    if name in ("max_pool2d", "avg_pool2d"):
        ceil_mode = _argument(args, kwargs, 5 if name == "max_pool2d" else 4, "ceil_mode")
        indices = name == "max_pool2d" and _argument(args, kwargs, 6, "return_indices")
        if ceil_mode or indices:
            return None
        return _window_shape(first, first.shape[1], _argument(args, kwargs, 1, "kernel_size"),
                             _argument(args, kwargs, 2, "stride"),
                             _argument(args, kwargs, 3, "padding", 0),
                             _argument(args, kwargs, 4, "dilation", 1)
                             if name == "max_pool2d" else 1)
    if name == "adaptive_avg_pool2d":
        size = _pair(_argument(args, kwargs, 1, "output_size"))
        return (*first.shape[:2], *size) if size and first.dim() == 4 else None
    if name == "linear":
        weight = _argument(args, kwargs, 1, "weight")
        fits = first.dim() >= 1 and first.shape[-1] == weight.shape[-1]
        return (*first.shape[:-1], int(weight.shape[0])) if fits else None
    if name == "conv_transpose2d":
        return _transposed_shape(first, args, kwargs)
    if name == "add":
        other = _argument(args, kwargs, 1, "other")
        same = isinstance(other, torch.Tensor) and other.shape == first.shape
        return tuple(first.shape) if same and other.dtype == first.dtype else None
    return None


def _transposed_shape(image: torch.Tensor, args: tuple, kwargs: dict) -> tuple[int, ...] | None:
    """N, C, H, W out of a 2-D transposed convolution."""
    weight = _argument(args, kwargs, 1, "weight")
    sizes = [_pair(_argument(args, kwargs, index, name, default)) for index, name, default in
             ((3, "stride", 1), (4, "padding", 0), (5, "output_padding", 0), (7, "dilation", 1))]
    groups = _argument(args, kwargs, 6, "groups", 1)
    if image.dim() != 4 or any(v is None for v in sizes) or image.shape[1] != weight.shape[0]:
        return None
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = sizes  # type: ignore[misc]
    kh, kw = weight.shape[2:]
    height = (image.shape[2] - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1
    width = (image.shape[3] - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1
    return (image.shape[0], int(weight.shape[1]) * groups, height, width)


def _on_meta(func: Any, args: tuple, kwargs: dict) -> torch.Tensor | None:
    """The output of a common op on meta tensors, made without torch's meta kernels (some are
    Python decompositions whose first use costs a second of imports)."""
    name = _function_name(func)
    try:
        shape = _meta_shape(name, args, kwargs)
    except (TypeError, AttributeError, IndexError):
        return None
    if shape is None:
        return None
    first = args[0][0] if name == "cat" else args[0]
    in_place = name in ("relu", "add") and (kwargs.get("inplace") or _is_in_place(func))
    return first if in_place else torch.empty(shape, dtype=first.dtype, device="meta")


def _is_in_place(func: Any) -> bool:
    name = getattr(func, "__name__", "")
    return name.endswith("_") and not name.endswith("__") or name.startswith("__i")


def input_shape_for(model: nn.Module, input_size: Any) -> tuple[int, ...]:
    """(1, C, H, W) from (C, H, W), (H, W), an int or '224x192'; C from the first conv."""
    from densevis.spec import parse_input_size

    size = input_size if input_size is not None else getattr(model, "input_size", None)
    if size is None:
        raise DenseVisError("a custom module needs an input size: input_size=(C, H, W) or (H, W)")
    if isinstance(size, str):
        size = parse_input_size(size)
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if not isinstance(size, tuple | list) or len(size) not in (2, 3) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size):
        raise DenseVisError(f"input size must be (C, H, W) or (H, W) of positive ints, "
                            f"got {size!r}")
    if len(size) == 2:
        first = next((p for p in model.parameters() if p.dim() == 4), None)
        size = (int(first.shape[1]) if first is not None else 3, *size)
    return (1, *(int(v) for v in size))


def record(model: nn.Module, input_shape: tuple[int, ...]) -> Recording:
    """Run ``model`` once on an image of ``input_shape`` (meta first) and record its ops."""
    parameter = next(model.parameters(), None)
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() \
        else torch.float32
    home = parameter.device if parameter is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        try:
            recorder = _run(model, input_shape, dtype, torch.device("meta"))
        except DenseVisError:
            raise
        except Exception:  # reads values or mixes devices: run it for real where it lives
            recorder = _run(model, input_shape, dtype, home)
    except DenseVisError:
        raise
    except Exception as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise DenseVisError(
            f"{type(model).__name__} failed on input {'x'.join(map(str, input_shape[1:]))}: "
            f"{type(error).__name__}: {message}") from None
    finally:
        model.train(was_training)
    if not recorder.ops:
        raise DenseVisError(f"{type(model).__name__} produced no tensor from the input")
    return Recording(
        ops=recorder.ops,
        params=sum(p.numel() for p in model.parameters()),
        dtype=str(dtype).removeprefix("torch."),
        device=str(home),
        input_shape=input_shape,
        top_level={name: next(child.children(), None) is not None
                   for name, child in model.named_children()},
    )


def _run(model: nn.Module, input_shape: tuple[int, ...], dtype: torch.dtype,
         device: torch.device) -> _Recorder:
    recorder = _Recorder(model)
    recorder.meta = device.type == "meta"
    image = torch.zeros(input_shape, dtype=dtype, device=device)
    recorder.attach(image)
    state = {name: torch.empty_like(value, device="meta") for name, value in _state(model)} \
        if recorder.meta else {}
    try:
        with torch.inference_mode(), recorder:
            if recorder.meta:
                output = torch.func.functional_call(model, state, (image,))
            else:
                output = model(image)
    finally:
        recorder.detach()
    if next(_tensors(output), None) is None:
        raise DenseVisError(f"{type(model).__name__} returned no tensor "
                            f"(got {type(output).__name__})")
    return recorder


def _state(model: nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    yield from model.named_parameters(remove_duplicate=False)
    yield from model.named_buffers(remove_duplicate=False)


def trace_module(model: nn.Module, input_size: Any = None, batch_size: int = 1,
                 label: str | None = None, config: Any = None) -> Trace:
    """Records of any module: ops, data flow, dense blocks found from it, stages and edges."""
    shape = input_shape_for(model, input_size)
    recording = record(model, (batch_size, *shape[1:]))
    ops = recording.ops
    flow = DataFlow(ops)
    places = flow.placements(recording.top_level, [op.module_path for op in ops])
    sources = {node: flow.sources(block, node) for block in flow.blocks
               for node in (*block.layer_inputs, *block.concats, block.output)
               if node >= 0 and ops[node].kind == "concat"}
    records = tuple(
        Op(index=index, name=op.name, kind=op.kind, stage=place.stage, block=place.block,
           position=place.position, in_channels=op.in_channels, out_channels=op.out_channels,
           kernel=op.kernel, stride=op.stride, padding=op.padding, input_shape=op.input_shape,
           output_shape=op.output_shape, params=op.params, macs=op.macs, flops=op.flops,
           activation_bytes=op.activation_bytes, sources=sources.get(index, ()),
           inputs=tuple(op.inputs))
        for index, (op, place) in enumerate(zip(ops, places, strict=True))
    )
    links, output_links, blocks = [], [], []
    for number, block in enumerate(flow.blocks, start=1):
        found = [Link(number, source, layer)
                 for layer, node in enumerate(block.layer_inputs, start=1)
                 for source in flow.sources(block, node)]
        joined = flow.sources(block, block.output)
        links += found
        output_links += [Link(number, source, block.dense_layers + 1) for source in joined]
        blocks.append(_block_record(number, block, records, recording.input_shape,
                                    len(found), len(joined)))
    return Trace(
        model=label or type(model).__name__,
        config=config,
        device=recording.device,
        batch_size=batch_size,
        dtype=recording.dtype,
        totals=Totals(
            params=recording.params,
            macs=sum(op.macs for op in records),
            flops=sum(op.flops for op in records),
            activation_bytes=sum(op.activation_bytes for op in records),
            depth=sum(1 for op in records if op.kind in ("conv", "linear")),
        ),
        blocks=tuple(blocks),
        ops=records,
        links=tuple(links),
        output_links=tuple(output_links),
        edges=tuple(Edge(source, target, kind) for source, target, kind
                    in flow.shortcut_edges({"concat": "skip", "add": "residual"})),
        input_shape=recording.input_shape,
    )


def _block_record(number: int, block: FoundBlock, ops: tuple[Op, ...],
                  input_shape: tuple[int, ...], links: int, output_links: int) -> Block:
    x0 = input_shape if block.block_input < 0 else ops[block.block_input].output_shape
    k0 = _channels(x0)
    return Block(
        index=number,
        dense_layers=block.dense_layers,
        k0=k0,
        growth_rate=ops[block.layer_outputs[0]].out_channels,
        links=links,
        output_links=output_links,
        in_channels=k0,
        out_channels=ops[block.output].out_channels,
        height=x0[2] if len(x0) > 2 else 1,
        width=x0[3] if len(x0) > 3 else 1,
    )
