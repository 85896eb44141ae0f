"""What the engine walked: one step per layer applied (and per group entered), in order, with the tensors each
read and wrote by buffer id. Conventions count a step; the exporter writes code from the steps."""
from __future__ import annotations

from typing import Any, NamedTuple

from ..read.nodes import Group, Leaf
from .rf import RF


class Tensor(NamedTuple):
    shape: tuple[Any, ...]  # per sample, in the spec's layout: [C, *spatial] or, channels last, [*spatial, C]
    rf: RF
    id: int  # the buffer that holds it: an index into Trace.buffers (memory liveness)
    windows: RF  # the field of the convolution and pooling windows alone (statistics and gates ignored)


class Step:
    """One layer the engine applied, or a group it entered (``cost`` None; its steps follow it)."""

    __slots__ = ("node", "reads", "out", "cost", "seen", "shape", "inputs", "rf", "windows", "owner",
                 "moved")

    def __init__(self, node: Leaf | Group, reads: tuple[int, ...], out: int | None = None,
                 cost: Any = None, seen: tuple[tuple[Any, ...], ...] = (), shape: tuple[Any, ...] = (),
                 inputs: Any = 0, rf: RF | None = None, windows: RF | None = None, owner: str | None = None,
                 moved: bool = False) -> None:
        self.node = node
        self.reads = reads  # buffer ids of the tensors it read, in order
        self.out = out  # buffer id of the tensor it wrote (a group: its output, set when it ends)
        self.cost = cost  # as the formula returned it: per sample, the output shape as the formula gave it
        self.seen = seen  # the input shapes as the formula saw them (channels first for a channels-first layer)
        self.shape = shape  # the output as held (the spec's layout)
        self.inputs = inputs  # elements read per sample, all inputs
        self.rf, self.windows = rf, windows  # receptive field after the layer, and the field of its windows alone
        self.owner = owner  # the path of the layer whose weight ``tied_to`` shares, as the engine resolved it
        # Channels last, a channels-first formula: its input's last dimension was presented first and its output's
        # first dimension moved back to the end.
        self.moved = moved

    @property
    def spec(self) -> Any:
        return self.node.spec


class Trace:
    """The steps of one walk, the buffers they live in and the names the spec gives tensors."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        # Per buffer (id 0: the network input): [elements with the batch, first row live, last row live]; a
        # layer's workspace is a buffer of its own, live in its row only.
        self.buffers: list[list[Any]] = []
        self.names: dict[str, int] = {}  # dotted path or saved name -> buffer id
        self.input = 0
        self.inputs: dict[str, int] = {}  # every network input by name -> buffer id (the first is ``input``)
        self.output = 0
        # the network output; with an outputs: header the first of them, and each here:
        self.outputs: list[tuple[str, int]] = []  # with an outputs: header, (output name, buffer id) each

    def layers(self) -> list[Step]:
        return [s for s in self.steps if s.cost is not None]
