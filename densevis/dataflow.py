"""Find dense blocks in a recorded data flow (plain data; no torch, no names).

Each op has the producers of its inputs. A concatenation's inputs are resolved back through
earlier concatenations to the ops that made them, so ``cat([cat([x, y1]), y2])`` joins
``{x, y1, y2}`` just like ``cat([x, y1, y2])``. A *step* is a concatenation that joins the
sources of an earlier node plus one new tensor computed from that node: the new tensor is a
dense layer's output. A dense block is a chain of steps, each growing the joined set by one:

    T0 = {x}  ->  T1 = T0 + {y1}  ->  ...  ->  TL = T(L-1) + {yL}

Layer l reads T(l-1) and makes y_l, so it has l direct links (one per source) and the block
L(L+1)/2, whether the code keeps a list (torchvision) or re-concatenates (chained style).
A lone ``cat([x, f(x)])`` is a skip, not a one-layer block (unless f reads a concatenation,
as a list-style layer does).
The ops of layer l are those between the block's concatenations; a block's output is its last
concatenation (or, when that one is left unused, a later one that joins only block sources:
FC-DenseNet's up path joins just the new features).

Every other concatenation or addition joins a main input (its first) with shortcut inputs:
those are ``skip`` (concat) and ``residual`` (add) edges, never dense links.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

NETWORK_INPUT = -1


class FlowOp(Protocol):
    """What the analysis reads of an op."""

    kind: str
    inputs: list[int]


@dataclass(frozen=True)
class FoundBlock:
    """A dense block found in the data flow (op indices into the recorded ops)."""

    block_input: int  # the op whose output is x0 (NETWORK_INPUT for the image)
    layer_inputs: tuple[int, ...]  # the node dense layer l reads (its sources' join)
    layer_outputs: tuple[int, ...]  # y_l
    concats: tuple[int, ...]  # the step concatenations, T1..TL
    output: int  # the block's output concatenation
    source_of: dict[int, int]  # producer -> block source (0 = block input, l = y_l)

    @property
    def dense_layers(self) -> int:
        return len(self.layer_outputs)


@dataclass(frozen=True)
class Placement:
    """Where one op sits: its stage, dense block and dense layer."""

    stage: str
    block: int | None = None
    position: int | None = None


class DataFlow:
    """Joined source sets of every op, and the dense blocks they form."""

    def __init__(self, ops: Sequence[FlowOp]) -> None:
        self.ops = ops
        self.flat: dict[int, tuple[int, ...]] = {}
        self.sets: list[frozenset[int]] = []
        self.consumers = [0] * len(ops)
        for index, op in enumerate(ops):
            for producer in op.inputs:
                if producer >= 0:
                    self.consumers[producer] += 1
            if op.kind == "concat":
                members: list[int] = []
                for producer in op.inputs:
                    members.extend(self.flat.get(producer, (producer,)))
                self.flat[index] = tuple(members)
                self.sets.append(frozenset(members))
            else:
                self.sets.append(frozenset((index,)))
        self.first_with: dict[frozenset[int], int] = {frozenset((NETWORK_INPUT,)): NETWORK_INPUT}
        for index, joined in enumerate(self.sets):
            self.first_with.setdefault(joined, index)
        self.steps = self._steps()
        self.blocks = self._blocks()

    def set_of(self, node: int) -> frozenset[int]:
        return frozenset((NETWORK_INPUT,)) if node < 0 else self.sets[node]

    def _steps(self) -> dict[int, tuple[int, int]]:
        """concat -> (node whose sources it re-joins, the one new tensor y made from it)."""
        steps = {}
        for concat in self.flat:
            joined = self.sets[concat]
            newest = max(joined)
            if len(joined) < 2 or newest < 0:
                continue
            parent = self._reaches(newest, joined - {newest})
            if parent is not None:
                steps[concat] = (parent, newest)
        return steps

    def _reaches(self, start: int, wanted: frozenset[int]) -> int | None:
        """The node joining ``wanted`` that ``start`` was computed from, without crossing
        another concatenation; None if there is none."""
        stack, seen = list(self.ops[start].inputs), set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if self.set_of(node) == wanted:
                return node
            if node >= 0 and self.ops[node].kind != "concat":
                stack.extend(self.ops[node].inputs)
        return None

    def _blocks(self) -> tuple[FoundBlock, ...]:
        results = {concat: self.sets[concat] for concat in self.steps}
        made = set(results.values())
        following: dict[frozenset[int], int] = {}
        for concat in sorted(self.steps):
            following.setdefault(self.set_of(self.steps[concat][0]), concat)
        blocks = []
        for concat in sorted(self.steps):
            if self.set_of(self.steps[concat][0]) in made:
                continue  # continues a chain started earlier
            chain = [concat]
            while self.sets[chain[-1]] in following:
                chain.append(following[self.sets[chain[-1]]])
            if len(chain) > 1 or self._is_concat(self.steps[concat][0]):
                blocks.append(self._block(chain))  # one cat([x, f(x)]) alone is a skip
        return tuple(blocks)

    def _is_concat(self, node: int) -> bool:
        return node >= 0 and self.ops[node].kind == "concat"

    def _block(self, chain: list[int]) -> FoundBlock:
        parents = tuple(self.steps[c][0] for c in chain)
        outputs = tuple(self.steps[c][1] for c in chain)
        base = self.set_of(parents[0])
        source_of = {member: 0 for member in base}
        source_of.update({y: layer for layer, y in enumerate(outputs, start=1)})
        return FoundBlock(
            block_input=self.first_with[base],
            layer_inputs=parents,
            layer_outputs=outputs,
            concats=tuple(chain),
            output=self._output(chain[-1], base),
            source_of=source_of,
        )

    def _output(self, last: int, base: frozenset[int]) -> int:
        """The last step, or a later join of only this block's new sources if the last step
        is never read (FC-DenseNet's up path)."""
        if self.consumers[last]:
            return last
        for concat in self.flat:
            joined = self.sets[concat]
            if concat > last and concat not in self.steps and joined <= self.sets[last] \
                    and not joined <= base:
                return concat
        return last

    def sources(self, block: FoundBlock, node: int) -> tuple[int, ...]:
        """Block sources joined by ``node``, in the order joined (the block input once)."""
        members = self.flat.get(node, (node,))
        result: list[int] = []
        for member in members:
            source = block.source_of.get(member)
            if source is not None and not (source == 0 and result and result[-1] == 0):
                result.append(source)
        return tuple(result)

    # ------------------------------------------------------------------ placement

    def placements(self, top_level: dict[str, bool], module_paths: Sequence[str]
                   ) -> list[Placement]:
        """Stage, block and dense layer of every op."""
        placed: list[Placement | None] = [None] * len(self.ops)
        for number, block in enumerate(self.blocks, start=1):
            stage = f"block{number}"
            starts = [block.block_input + 1, *block.concats[:-1]]
            ends = [*block.concats]
            for layer, (start, end) in enumerate(zip(starts, ends, strict=True), start=1):
                for index in range(start, end):
                    placed[index] = Placement(stage, number, layer)
            for index in range(block.concats[-1], block.output + 1):
                placed[index] = Placement(stage, number, None)
        if self.blocks:
            return self._between_blocks(placed)
        return self._by_module(top_level, module_paths)

    def _between_blocks(self, placed: list[Placement | None]) -> list[Placement]:
        """Ops outside dense blocks: stem before the first, transition i after block i, head
        after the last."""
        result, seen = [], 0
        last = max(i for i, p in enumerate(placed) if p is not None and p.block is not None)
        for index, place in enumerate(placed):
            if place is not None:
                seen = place.block or seen
                result.append(place)
            elif not seen:
                result.append(Placement("stem"))
            elif index > last:
                result.append(Placement("head"))
            else:
                result.append(Placement(f"transition{seen}"))
        return result

    def _by_module(self, top_level: dict[str, bool], module_paths: Sequence[str]
                   ) -> list[Placement]:
        """No dense blocks: one stage per top-level container module; ops directly in the
        root before the first container are the stem, after the last the head."""
        tops = [path.split(".", 1)[0] for path in module_paths]
        containers = [i for i, top in enumerate(tops) if top_level.get(top)]
        if not containers:
            return [Placement("body")] * len(self.ops)
        result = []
        for index, top in enumerate(tops):
            if top_level.get(top):
                result.append(Placement(top))
            elif index < containers[0]:
                result.append(Placement("stem"))
            elif index > containers[-1]:
                result.append(Placement("head"))
            else:
                result.append(result[-1])
        return result

    # ------------------------------------------------------------------ other joins

    def shortcut_edges(self, kinds: dict[str, str]) -> list[tuple[int, int, str]]:
        """(producer, op, edge kind) for every input but the first of a join that is not
        part of a dense block: FC-DenseNet's skip concatenations, ResNet's residual adds."""
        in_blocks = {c for block in self.blocks for c in (*block.concats, block.output)}
        in_blocks |= {node for block in self.blocks for node in block.layer_inputs
                      if node > block.block_input}
        edges = []
        for index, op in enumerate(self.ops):
            kind = kinds.get(op.kind)
            if kind is None or index in in_blocks or len(op.inputs) < 2:
                continue
            edges.extend((producer, index, kind) for producer in op.inputs[1:])
        return edges
