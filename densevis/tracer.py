"""The one bridge from torch to records: run the real module once, with hooks, and write down
what every leaf op received and produced, and which op produced each of its inputs.

Nothing here is typed in from the paper: the layer kinds, channels, links, parameters and the
data flow all come from the module's own forward pass, so they hold for any config and any
checkpoint.

Speed: the forward pass runs on a *probe* input, the smallest image that survives every
downsampling stage (32x32 for densenet121), so no time is spent convolving a 224x224 image.
Full-size shapes are then propagated along the recorded data flow with each module's own
kernel, stride, padding and dilation. ``tests/test_tracer.py`` checks the result against hooks
on a full-size forward pass and the FLOPs against ``torch.utils.flop_counter``.
"""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import torch
from torch import nn

from densevis.checks import check_batch_size
from densevis.config import (
    DenseNetConfig,
    conv_output_size,
    estimate_memory,
    get_config,
    probe_config,
)
from densevis.devices import resolve_device
from densevis.errors import DenseVisError
from densevis.generic import MODULE_KINDS
from densevis.memory_cap import check_bytes, check_memory
from densevis.metrics import conv_macs, flops_from_macs, linear_macs, tensor_bytes
from densevis.model import Concat, DenseNet, _DenseBlock, _DenseLayer, _Transition
from densevis.records import Block, Link, Op, Totals, Trace
from densevis.threads import one_thread_here

_KINDS: tuple[tuple[type[nn.Module], str], ...] = ((Concat, "concat"), *MODULE_KINDS)
_INPUT = -1  # producer index of the network input


def _kind(module: nn.Module) -> str | None:
    for cls, kind in _KINDS:
        if isinstance(module, cls):
            return kind
    return None


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


@dataclass
class _Event:
    """What one leaf op saw during the probe pass."""

    module: nn.Module
    kind: str
    name: str
    stage: str
    block: int | None
    position: int | None
    producers: list[int]  # event index of each input (_INPUT for the image)
    in_channels: int
    out_channels: int
    out_rank: int
    element_size: int
    sources: tuple[int, ...]


class _Recorder:
    """Forward hooks that collect the ops, their inputs' producers and the dense links."""

    def __init__(self, model: DenseNet) -> None:
        self.model = model
        self.events: list[_Event] = []
        self.links: list[Link] = []
        self.output_links: list[Link] = []
        self.block_layers: dict[int, list[int]] = {}  # block -> out channels of each layer
        self.block_input_event: dict[int, int] = {}  # block -> event that produced x0
        self.producer: dict[int, int] = {}  # id(tensor) -> event index
        self.source: dict[int, int] = {}  # id(tensor) -> dense source index in its block
        self.alive: list[torch.Tensor] = []  # keeps ids unique for the whole pass
        self.places: dict[nn.Module, tuple[str, str, int | None, int | None]] = {}
        self.handles: list[Any] = []
        self._locate()

    def _locate(self) -> None:
        """Name, stage, block and dense-layer position of every module."""
        stage, block, position = "stem", None, None
        for name, module in self.model.named_modules():
            if isinstance(module, _DenseBlock):
                block = int(name.rsplit("denseblock", 1)[1])
                stage, position = f"block{block}", None
            elif isinstance(module, _DenseLayer):
                position = int(name.rsplit("denselayer", 1)[1])
            elif isinstance(module, _Transition):
                stage = "transition" + name.rsplit("transition", 1)[1]
                block, position = None, None
            elif name in ("features.norm5", "relu", "avgpool", "classifier"):
                stage, block, position = "head", None, None
            elif block is not None and name == f"features.denseblock{block}.concat":
                position = None
            self.places[module] = (name, stage, block, position)

    def attach(self, image: torch.Tensor) -> None:
        self.producer[id(image)] = _INPUT
        self.alive.append(image)
        for module in self.places:
            if isinstance(module, _DenseBlock):
                self.handles.append(module.register_forward_pre_hook(self._on_block_input))
            elif isinstance(module, _DenseLayer):
                self.handles.append(module.register_forward_hook(self._on_dense_layer))
            elif _kind(module) is not None:
                self.handles.append(module.register_forward_hook(self._on_leaf))

    def detach(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.alive.clear()

    def _on_block_input(self, module: nn.Module, inputs: tuple[torch.Tensor]) -> None:
        block = self.places[module][2]
        assert block is not None
        self.block_layers[block] = []
        self.block_input_event[block] = self.producer[id(inputs[0])]
        self.source[id(inputs[0])] = 0

    def _on_dense_layer(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        _, _, block, position = self.places[module]
        assert block is not None and position is not None
        self.source[id(output)] = position
        self.block_layers[block].append(int(output.shape[1]))

    def _on_leaf(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        name, stage, block, position = self.places[module]
        kind = _kind(module)
        assert kind is not None
        tensors = list(inputs[0]) if kind == "concat" else [inputs[0]]
        ids = list(map(id, tensors))  # a concat joins up to 1000 inputs: C-level loops
        sources: tuple[int, ...] = ()
        if kind == "concat":
            assert block is not None
            sources = tuple(map(self.source.__getitem__, ids))
            target = position if position is not None else len(tensors)
            found = map(Link, repeat(block), sources, repeat(target))
            (self.links if position is not None else self.output_links).extend(found)
        self.events.append(
            _Event(
                module=module,
                kind=kind,
                name=name,
                stage=stage,
                block=block,
                position=position,
                producers=list(map(self.producer.get, ids, repeat(_INPUT))),
                # a concatenation's channels are its inputs' channels together
                in_channels=int(output.shape[1]) if kind == "concat" else int(
                    tensors[0].shape[1]),
                out_channels=int(output.shape[1]),
                out_rank=output.dim(),
                element_size=output.element_size(),
                sources=sources,
            )
        )
        self.producer[id(output)] = len(self.events) - 1
        self.alive.append(output)


def _propagate(
    events: list[_Event], batch: int, height: int, width: int
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Full-size (input_shape, output_shape) of every event, following the recorded data flow."""
    spatial: list[tuple[int, int]] = []
    shapes = []
    for event in events:
        first = event.producers[0]
        h, w = (height, width) if first == _INPUT else spatial[first]
        module = event.module
        if event.kind in ("conv", "maxpool", "avgpool") and not isinstance(
            module, nn.AdaptiveAvgPool2d
        ):
            if getattr(module, "ceil_mode", False):
                raise DenseVisError(f"{event.name}: ceil_mode pooling is not supported")
            kernel, stride = _pair(module.kernel_size), _pair(module.stride or module.kernel_size)
            padding, dilation = _pair(module.padding), _pair(getattr(module, "dilation", 1))
            out_hw = (
                conv_output_size(h, kernel[0], stride[0], padding[0], dilation[0]),
                conv_output_size(w, kernel[1], stride[1], padding[1], dilation[1]),
            )
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            out_hw = _pair(module.output_size)
        else:
            out_hw = (h, w)
        spatial.append(out_hw)
        if event.kind == "linear":
            in_shape: tuple[int, ...] = (batch, event.in_channels)
            out_shape: tuple[int, ...] = (batch, event.out_channels)
        else:
            in_shape = (batch, event.in_channels, h, w)
            out_shape = (batch, event.out_channels, *out_hw)
        shapes.append((in_shape, out_shape))
    return shapes


def _layer(index: int, event: _Event, in_shape: tuple[int, ...], out_shape: tuple[int, ...]
           ) -> Op:
    module = event.module
    kernel = stride = padding = None
    macs = 0
    if event.kind == "conv":
        kernel, stride = _pair(module.kernel_size), _pair(module.stride)
        padding = _pair(module.padding)
        macs = conv_macs(out_shape, event.in_channels, kernel, module.groups)
    elif event.kind == "linear":
        macs = linear_macs(out_shape, module.in_features)
    elif isinstance(module, nn.AdaptiveAvgPool2d):
        kernel = (in_shape[2], in_shape[3])
        stride, padding = kernel, (0, 0)
    elif event.kind in ("maxpool", "avgpool"):
        kernel, stride = _pair(module.kernel_size), _pair(module.stride or module.kernel_size)
        padding = _pair(module.padding)
    in_place = event.kind == "relu" and getattr(module, "inplace", False)
    return Op(
        index=index,
        name=event.name,
        kind=event.kind,
        stage=event.stage,
        block=event.block,
        position=event.position,
        in_channels=event.in_channels,
        out_channels=event.out_channels,
        kernel=kernel,
        stride=stride,
        padding=padding,
        input_shape=in_shape,
        output_shape=out_shape,
        params=sum(p.numel() for p in module.parameters(recurse=False)),
        macs=macs,
        flops=flops_from_macs(macs),
        activation_bytes=0 if in_place else tensor_bytes(out_shape, event.element_size),
        sources=event.sources,
    )


def _blocks(recorder: _Recorder, layers: tuple[Op, ...]) -> tuple[Block, ...]:
    links = Counter(link.block for link in recorder.links)
    output_links = Counter(link.block for link in recorder.output_links)
    result = []
    for block, widths in sorted(recorder.block_layers.items()):
        producer = recorder.block_input_event[block]
        x0 = layers[producer].output_shape
        output = next(
            layer for layer in layers
            if layer.block == block and layer.kind == "concat" and layer.position is None
        )
        result.append(
            Block(
                index=block,
                dense_layers=len(widths),
                k0=x0[1],
                growth_rate=widths[0],
                links=links[block],
                output_links=output_links[block],
                in_channels=x0[1],
                out_channels=output.out_channels,
                height=x0[2],
                width=x0[3],
            )
        )
    return tuple(result)


def _probe(model: DenseNet, config: DenseNetConfig) -> _Recorder:
    """Run the module's own forward on the smallest surviving input, with hooks attached."""
    parameter = next(model.parameters())
    image = torch.zeros(1, config.in_channels, *probe_config(config).input_size,
                        device=parameter.device, dtype=parameter.dtype)
    recorder = _Recorder(model)
    was_training = model.training
    recorder.attach(image)
    try:
        model.eval()
        # The probe is tiny: one thread, set for this thread only (other requests may be
        # measuring with torch's process-wide count).
        with torch.inference_mode(), one_thread_here():
            model(image)
    finally:
        recorder.detach()
        model.train(was_training)
    return recorder


BLANK_ON_META = 12_000_000  # parameters from which skipping the random init pays (see below)


def _blank_model(config: DenseNetConfig, device: torch.device) -> DenseNet:
    """The config's module for a probe, which reads shapes, never weight values. torch's
    default init draws random weights: CPU time grows with the parameters (0.30 s for the
    69 M of k = 74, blocks 6-12-32-32; a quarter of the server's CPU under load). Models
    that big are built on the meta device instead and given zeroed tensors (0.11 s); smaller
    ones are built directly, where the meta device's overhead costs more than it saves
    (0.08 s against 0.04 s at 1.3 M). One thread (set for this thread only) either way, and
    no device context where the module lands on the default device anyway (its per-tensor
    overhead cost 20-40%)."""
    with one_thread_here():
        if estimate_memory(config).params < BLANK_ON_META:
            with nullcontext() if device == torch.get_default_device() else device:
                return DenseNet(config, init_weights=False)
        with torch.device("meta"):
            model = DenseNet(config, init_weights=False)
        for module in model.modules():  # (to_empty is slower: its meta copies run in Python)
            for name, meta in [*module.named_parameters(recurse=False),
                               *module.named_buffers(recurse=False)]:
                blank = torch.zeros(meta.shape, dtype=meta.dtype, device=device)
                setattr(module, name, nn.Parameter(blank, meta.requires_grad)
                        if isinstance(meta, nn.Parameter) else blank)
        return model


def _check_probe_memory(config: DenseNetConfig, max_memory: int | None, device: torch.device,
                        built: bool = False) -> None:
    """Refuse only what a trace allocates: the weights (unless the module is ``built``
    already) and one probe-sized pass at batch 1.

    Full-size activations are never allocated here (shapes are propagated, not computed);
    building the model to run it full size (``build_model``, the profiler) checks those.
    """
    probe = probe_config(config)
    if built:
        check_bytes(estimate_memory(probe).activation_bytes, "the probe pass", max_memory,
                    device)
    else:
        check_memory(probe, max_memory, 1, device=device)


def _input_size(value: int | str | tuple[int, int] | None) -> tuple[int, int] | None:
    """An int (square), "224x192" or (H, W) -> (H, W); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        from densevis.spec import parse_input_size

        return parse_input_size(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, tuple | list) and len(value) == 2:
        return (value[0], value[1])
    raise DenseVisError(f"input size must be an int, 'HxW' or (H, W), got {value!r}")


def trace(
    target: str | DenseNetConfig | nn.Module = "densenet121",
    input_size: int | str | tuple[int, ...] | None = None,
    device: str | torch.device | None = "auto",
    batch_size: int = 1,
    max_memory: int | None = None,
) -> Trace:
    """Run a network once and return its records.

    ``target`` is a preset name, a DenseNetConfig, a built densevis ``DenseNet`` (for example
    one with loaded weights), or any other ``nn.Module`` (traced by ``densevis.generic``, its
    dense blocks found from the data flow). A module is traced where it lives and ``device``
    is ignored. ``input_size`` overrides the config's (H, W): an int is a square, a string
    "224x192"; a custom module takes (C, H, W) or (H, W) (C from its first convolution).
    """
    check_batch_size(batch_size)
    if isinstance(target, nn.Module) and not isinstance(target, DenseNet):
        from densevis.generic import trace_module

        return trace_module(target, input_size, batch_size)
    size = _input_size(input_size)
    if isinstance(target, DenseNet):
        model = target
        config = model.config if size is None else model.config.replace(input_size=size)
        placed = next(model.parameters()).device
        _check_probe_memory(config, max_memory, placed, built=True)
    else:
        config = get_config(target)
        if size is not None:
            config = config.replace(input_size=size)
        placed = resolve_device(device)
        _check_probe_memory(config, max_memory, placed)
        model = _blank_model(config, placed)
    recorder = _probe(model, config)
    shapes = _propagate(recorder.events, batch_size, *config.input_size)
    layers = tuple(
        _layer(index, event, *shape)
        for index, (event, shape) in enumerate(zip(recorder.events, shapes, strict=True))
    )
    totals = Totals(
        params=sum(p.numel() for p in model.parameters()),
        macs=sum(layer.macs for layer in layers),
        flops=sum(layer.flops for layer in layers),
        activation_bytes=sum(layer.activation_bytes for layer in layers),
        depth=sum(1 for layer in layers if layer.kind in ("conv", "linear")),
    )
    return Trace(
        model=config.label,
        config=config,
        device=str(placed),
        batch_size=batch_size,
        dtype=str(next(model.parameters()).dtype).removeprefix("torch."),
        totals=totals,
        blocks=_blocks(recorder, layers),
        ops=layers,
        links=tuple(recorder.links),
        output_links=tuple(recorder.output_links),
    )
