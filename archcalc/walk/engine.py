"""The engine: walk the node tree, apply each formula to the incoming shape, compose receptive fields, record
every step in a trace, and make each layer's row from its step as the convention counts it (scaled by the batch)
and sum. Formulas never see the batch; the engine never sees a formula's maths, nor a convention's rules.

Tensors are held in the spec's axis order. Under ``layout: channels_last`` (Keras) that is ``[*spatial, C]``;
a layer whose formula reads ``[C, *spatial]`` (``channels_first`` on its model) is given its input in that order,
and its output, receptive-field step and dimension map are moved back (``held.apply``)."""
from __future__ import annotations

import gc
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

from ..core.errors import ArchcalcError, ShapeError, SpecError
from ..core.metrics import TOTALLED
from ..core.num import free_names, is_concrete, prod
from ..core.symbolic import LAYER_WORK, metered, spend
from ..count.convention import ARCHCALC, Convention
from ..layers.base import GLOBAL
from ..read.nodes import Group, Leaf, Node
from .bounds import Bounds
from .held import apply, broadcast, held_step, last_order
from .report import BlockResult, LayerResult, NetworkOutput, Report, Totals
from .rf import RF, merge, repeat_rf
from .trace import Step, Tensor, Trace

if TYPE_CHECKING:
    from ..read.spec import Network


def analyze(network: Network, *, simplify: str = "expand", collect: tuple[str, ...] = (),
            convention: Convention = ARCHCALC) -> Report:
    """Analyse a built network under ``convention``.

    With symbols, every figure is a formula, shown in the user's symbols and simplified by ``simplify``
    (expand, factor, collect by ``collect``, or none).
    """
    with metered():  # one budget of symbolic work for the whole analysis (symbolic.py)
        report, _ = walk(network, convention)
        if network.symbols is not None:
            from .present import present
            present(report, network.symbols, simplify, collect)
    report.network = network  # what was analysed: sweep and solve run it again at other values
    return report


def walk(network: Network, convention: Convention = ARCHCALC) -> tuple[Report, Trace]:
    """The report of one walk of ``network``, its figures as the engine computed them, and the trace of the walk."""
    w = _Walk(network, convention)
    # A numeric walk makes tens of thousands of long-lived objects (rows, steps, fields) and no reference cycles:
    # the cyclic collector would only traverse them again and again (a quarter of the time of a 10,000-layer walk).
    # Symbolic mode keeps it: sympy's caches do make cycles.
    paused = network.symbols is None and gc.isenabled()
    if paused:
        gc.disable()
    try:
        return w.report(), w.trace
    finally:
        if paused:
            gc.enable()


class _Walk:
    def __init__(self, network: Network, convention: Convention = ARCHCALC) -> None:
        self.net = network
        self.convention = convention
        self.owned: dict[str, Any] = {}  # layer path -> its own parameters, whatever the convention counts
        self.tokens = convention.tokens(network)
        self.batch = network.batch
        self.rows: list[LayerResult] = []
        self.outline: list[LayerResult | BlockResult] = []  # table order: a block before its contents
        self.tensors: dict[str, Tensor] = {}  # dotted path or saved name -> output
        self.sums: dict[str, Tensor] = {}  # running sums (``accumulate:``) by name -> the sum so far
        self.last = network.layout == "channels_last"  # Keras: tensors held as [*spatial, C]
        self.trace = Trace()
        self.life = self.trace.buffers  # per buffer: [elements with the batch, first row live, last row live]
        self.bounds = Bounds(network.symbols)
        self.numeric = network.symbols is None  # no figure can be a formula

    def report(self) -> Report:
        check = self.bounds.check
        check([("the input shape", d) for d in self.net.input] + [("the batch", self.batch)])
        rank = len(self.net.input)
        rf = RF.of_input(rank, sequence=self.net.layout == "sequence")
        if self.last:  # spatial axes at dims 0..n-2, channels at the last dim
            rf = rf.remap(last_order(rank), rank)
        try:
            x = Tensor(tuple(self.net.input), rf, self.buffer(self.net.input, 0, -1), rf)
        except ShapeError as e:  # the product of its dimensions
            raise ShapeError(f"the input shape: {e.message}", hint=e.hint, file=self.net.file) from None
        self.name("input", x)  # `from: input` reads the network input (a layer named input replaces it)
        self.more_inputs(x)
        blocks: list[BlockResult] = []
        x = self.run(self.net.nodes, x, "", 0, blocks)
        outputs = self.outputs(x)
        self.trace.input, self.trace.output = 0, outputs[0][1].id
        self.trace.outputs = [(label, t.id) for label, t, _ in outputs] if self.net.outputs else []
        self.live([t.id for _, t, _ in outputs])
        for row in self.rows:
            try:
                check([("its live elements", row.live)], row.rf)
            except ArchcalcError as e:
                raise e.locate(path=row.name, file=self.net.file, line=row.line) from None
        totals = Totals.of(self.rows, self.numeric)
        check([(f"the total {m.name}", getattr(totals, m.name)) for m in TOTALLED], fixed=None)
        x = outputs[0][1]  # with several outputs, the report's output_shape and rf are the first one's
        report = Report(self.net.name, (self.batch, *self.net.input), self.rows, totals, self.convention,
                        (self.batch, *x.shape), x.rf, blocks, self.outline)
        report.rf_windows = x.windows
        if self.net.outputs:
            report.outputs = [NetworkOutput(label, ref, (self.batch, *t.shape), t.rf, t.windows)
                              for label, t, ref in outputs]
        report.layout = self.net.layout
        report.inputs = {name: (self.batch, *shape) for name, shape in self.net.inputs.items()}
        return report

    def more_inputs(self, first: Tensor) -> None:
        """Name every network input (``inputs:``); the walk starts from the first. Receptive fields are in the first
        input's positions: a tensor made from another input is reported global on every axis (conservative)."""
        for i, (key, shape) in enumerate(self.net.inputs.items()):
            x = first
            if i:
                self.bounds.check([(f"the shape of input {key}", d) for d in shape])
                every = tuple(range(len(first.rf.axes)))
                rf = RF((GLOBAL,) * len(every), (every,) * len(shape))
                x = Tensor(tuple(shape), rf, self.buffer(shape, 0, -1), rf)
            self.name(key, x)
            self.trace.inputs[key] = x.id

    def buffer(self, shape: tuple[Any, ...], first: int, last: int) -> int:
        """A new buffer for a tensor of ``shape`` (per sample), live over rows first..last (none if last < first)."""
        self.life.append([prod(shape) * self.batch, first, last])
        return len(self.life) - 1

    def name(self, key: str, x: Tensor) -> None:
        self.tensors[key] = x
        self.trace.names[key] = x.id

    def outputs(self, x: Tensor) -> list[tuple[str, Tensor, str]]:
        """The network's outputs, (output name, tensor, tensor name) each: the ``outputs:`` header's tensors,
        resolved as a top-level ``from:`` is, else the last output."""
        if not self.net.outputs:
            return [("output", x, ".")]
        found = []
        for label, ref in self.net.outputs:
            try:
                found.append((label, self.resolve(ref, x, "", None), ref))
            except ArchcalcError as e:
                raise e.locate(path=label, file=self.net.file, line=self.net.outputs_line,
                               what="output") from None
        return found

    def live(self, outputs: list[int]) -> None:
        """Each row's ``live``: the elements of every buffer live while it runs (its inputs, its output, and
        what later rows still read); the network's outputs stay to the end."""
        if not self.rows:
            return
        for output in outputs:
            self.life[output][2] = len(self.rows) - 1
        delta: list[Any] = [0] * (len(self.rows) + 1)
        for size, first, last in self.life:
            if last >= first:
                delta[first] += size
                delta[last + 1] -= size
        running: Any = 0
        for row, change in zip(self.rows, delta):
            running += change
            row.live = running

    def run(self, nodes: list[Node], x: Tensor, prefix: str, depth: int, blocks: list[BlockResult]) -> Tensor:
        for node in nodes:
            try:
                source = self.resolve(node.inputs[0], x, prefix, node) if node.inputs and (
                    isinstance(node, Group) or node.spec.arity != "many") else x
                x = self.leaf(node, source, prefix, depth) if isinstance(node, Leaf) else \
                    self.group(node, source, depth, blocks)
            except ArchcalcError as e:
                raise e.locate(path=node.path, file=self.net.file, line=node.line) from None
            for taken in (node.path, node.save):
                if taken in self.sums:
                    raise SpecError(f"{taken!r} is the name of a running sum (accumulate: {taken})",
                                    hint="give the layer or its save: another name", path=node.path,
                                    file=self.net.file, line=node.line)
            self.name(node.path, x)
            if node.save:
                self.name(node.save, x)
            if node.accumulate:
                try:
                    self.accumulate(node, x, prefix, depth)
                except ArchcalcError as e:
                    raise e.locate(path=node.path, file=self.net.file, line=node.line) from None
        return x

    def accumulate(self, node: Node, x: Tensor, prefix: str, depth: int) -> None:
        """``accumulate: total``: the first item naming ``total`` starts the sum with its output; each later one adds
        its output to the sum so far, with its add layer (a row of its own), as ``total = total + x``."""
        total = node.accumulate
        assert total is not None and node.adder is not None
        held = self.sums.get(total)
        if held is None:
            if total in self.tensors:
                raise SpecError(f"accumulate: {total!r} is already the name of a layer or saved tensor",
                                hint="give the running sum a name of its own")
            summed = x
        else:
            summed = self.leaf(node.adder, x, prefix, depth, [held, x], [f"the sum {total!r}", "this output"])
        self.sums[total] = summed
        self.name(total, summed)

    def group(self, node: Group, x: Tensor, depth: int, blocks: list[BlockResult]) -> Tensor:
        block = BlockResult(node.path, node.kind, depth)
        self.outline.append(block)
        blocks.append(block)
        entered = Step(node, (x.id,))
        self.trace.steps.append(entered)
        start = len(self.rows)
        if node.branches:
            outs = [self.run(branch, x, _scope_of(branch, node), depth + 1, block.children)
                    for _, branch in node.branches]
            labels = [f"branch {_branch_name(node, name)}" for name, _ in node.branches]
            assert node.merge is not None
            x = self.leaf(node.merge, x, node.merge.path.rpartition(".")[0], depth + 1, outs, labels)
        elif node.count is not None and not isinstance(node.count, int):
            x = self.symbolic_repeat(node, x, depth, block, start)
        else:
            x = self.run(node.children, x, node.path, depth + 1, block.children)
        entered.out = x.id
        block.finish(self.rows[start:], (self.batch, *x.shape), x.rf, x.windows, self.numeric)
        if self.net.symbols is not None:  # a block sums its rows again: nested blocks cost rows x depth
            spend(len(self.rows) - start)
        t = block.totals
        self.bounds.check([(f"its total {m.name}", getattr(t, m.name)) for m in TOTALLED], fixed=None)
        return x

    def symbolic_repeat(self, node: Group, x: Tensor, depth: int, block: BlockResult, start: int) -> Tensor:
        """``repeat: L`` with a symbolic L: cost one unit, multiply by L, extrapolate the RF in closed form."""
        unstarted = sorted(set(_sums(node.children)) - set(self.sums))
        if unstarted:
            raise SpecError(f"accumulate: {unstarted[0]!r} starts inside a repeat with a symbolic count, whose copies "
                            "are costed as one: the first copy would start the sum, the others add to it",
                            hint=f"start the sum before the repeat (an item with accumulate: {unstarted[0]}), or "
                                 "give repeat a number")
        # The unit reads a buffer of its own: in copies after the first it is the previous copy's output,
        # while x itself stays live only if a later layer reads it.
        unit = x._replace(id=self.buffer(x.shape, start, start - 1))
        out = self.run(node.children, unit, node.path, depth + 1, block.children)
        if tuple(out.shape) != tuple(x.shape):
            raise ShapeError(f"a repeat with a symbolic count needs a unit that keeps the shape, got "
                             f"{list(x.shape)} -> {list(out.shape)}", hint="repeat a shape-preserving block")
        count = node.count
        for row in self.rows[start:]:
            row.scale(count)
            if "i" in free_names(row.params + row.macs + row.flops):
                raise SpecError("with a symbolic repeat count the unit's cost cannot depend on the index i",
                                hint="give repeat a number, or remove i from the unit")
        for child in block.children:
            child.scale(count)
        return Tensor(out.shape, repeat_rf(x.rf, out.rf, count), out.id, repeat_rf(x.windows, out.windows, count))

    def leaf(self, node: Leaf, x: Tensor, prefix: str, depth: int, given: list[Tensor] | None = None,
             labels: list[str] | None = None) -> Tensor:
        spec = node.spec
        if spec.arity == "many":
            if given is None:
                if not node.inputs:
                    raise SpecError(f"{node.type} needs inputs: [...] outside parallel/residual",
                                    hint="list earlier layer names, '.' for the current tensor")
                given = [self.resolve(r, x, prefix, node) for r in node.inputs]
                labels = [f"input {r!r}" for r in node.inputs]
            cost = node.formula(spec, [t.shape for t in given], labels)
            fixed = broadcast(given) if spec.kind == "elementwise" else None  # add and mul broadcast
            step = held_step(cost.rf, self.last)
            rf = merge([t.rf for t in given], fixed).then(step).then(held_step(cost.statistics, self.last))
            windows = merge([t.windows for t in given], fixed, windows=True).then(step)
            rf, windows = rf.remap(cost.dims, len(cost.shape)), windows.remap(cost.dims, len(cost.shape))
            inputs = sum(prod(t.shape) for t in given)
            seen, shape, moved = [t.shape for t in given], tuple(cost.shape), False
        else:
            reads = spec.reads() if hasattr(spec, "reads") else ()  # cross-attention's kv_from; a custom layer: none
            given = [x, *(self.resolve(r, x, prefix, node) for r in reads)]
            if getattr(spec, "size_of", None) is not None:  # upsample to another tensor's spatial size
                node = _sized(node, self.resolve(spec.size_of, x, prefix, node).shape, self.last)
                spec = node.spec
            cost, rf, windows, first, shape, moved = apply(node, x, self.last, tuple(t.shape for t in given[1:]))
            inputs, seen = sum(prod(t.shape) for t in given), [first, *(t.shape for t in given[1:])]
        tied = getattr(spec, "tied_to", None)
        owner = self.check_tie(node, tied, cost.shared) if tied else None
        self.owned[node.path] = cost.params
        index, b = len(self.rows), self.batch
        for t in given:
            self.life[t.id][2] = index  # rows run in order: this is the latest read so far
        scratch = not (isinstance(cost.workspace, int) and cost.workspace == 0)
        workspace = cost.workspace * b if scratch else 0
        if scratch:
            self.life.append([workspace, index, index])  # live while this layer runs, in its row only
        done = Step(node, tuple(t.id for t in given), self.buffer(shape, index, index), cost, tuple(seen), shape,
                    inputs, rf, windows, owner, moved)
        row = self.row(done, self.convention.count(done, b, self.tokens), depth, workspace)
        self.bounds.check_row(row, fixed=LAYER_WORK)  # running a formula costs more than its figures' size
        self.rows.append(row)
        self.outline.append(row)
        self.trace.steps.append(done)
        return Tensor(shape, rf, done.out, windows)

    def row(self, step: Step, counted: Any, depth: int, workspace: Any) -> LayerResult:
        """The row of a layer: its step's figures, with the batch, and the convention's count of it."""
        node, cost, b = step.node, step.cost, self.batch
        params = counted.params
        return LayerResult(
            node.path, node.type, node.spec.kind, (b, *step.shape), params, cost.buffers, counted.macs, counted.flops,
            counted.flops_by_kind, prod(step.shape) * b, step.rf, node.line, depth, node.user_defined,
            step.inputs * b, cost.cache * b, params - (cost.params - cost.active), rf_windows=step.windows,
            workspace=workspace,
            # Keras's split: its non-trainable parameters are the running statistics torch holds as buffers.
            non_trainable=cost.running if self.last else 0, spec=node.spec,
            input_shape=step.seen[0],  # as the formula saw it (channels first for a channels-first layer)
        )

    def check_tie(self, node: Leaf, owner: str, shared: Any) -> str:
        """``tied_to`` names an earlier layer whose own parameters include the shared weight: the path of the
        latest such layer."""
        paths = [path for path in self.owned if path == owner or path.endswith(f".{owner}")]
        if not paths:
            raise SpecError(f"tied_to: no earlier layer named {owner!r}",
                            hint="name the layer that owns the weight (it must come first)")
        params = self.owned[paths[-1]]
        if is_concrete(params) and is_concrete(shared) and params < shared:
            raise ShapeError(f"tied_to: {owner!r} has {params:,} parameters, fewer than the {shared:,} of the "
                             f"weight {node.name} shares", hint="tie layers whose weights have the same shape")
        return paths[-1]

    def resolve(self, ref: str, x: Tensor, prefix: str, node: Node | None) -> Tensor:
        """A name seen from ``prefix``: the innermost enclosing scope first, then saved names."""
        if ref == ".":
            return x
        if node is not None and ref in (node.name, node.path):
            raise SpecError(f"{ref!r} refers to the layer itself (a cycle)", hint="name an earlier layer")
        parts = prefix.split(".") if prefix else []
        for cut in range(len(parts), -1, -1):
            key = ".".join([*parts[:cut], ref])
            if key in self.tensors:
                return self.tensors[key]
        close = get_close_matches(ref, [k.rsplit(".", 1)[-1] for k in self.tensors] + list(self.tensors), 1)
        raise SpecError(f"unknown name {ref!r}", hint=f"did you mean {close[0]!r}? names must refer to "
                        "earlier layers or blocks" if close else "names must refer to earlier layers or blocks")


def _sums(nodes: list[Node]) -> list[str]:
    """The running sums (``accumulate:``) items of ``nodes`` add into, nested items included."""
    found: list[str] = []
    for node in nodes:
        if node.accumulate:
            found.append(node.accumulate)
        if isinstance(node, Group):
            found += _sums(node.children) + [t for _, branch in node.branches for t in _sums(branch)]
    return found


def _scope_of(nodes: list[Node], group: Group) -> str:
    """The naming prefix of a branch's layers (a transparent residual names them in its parent)."""
    return nodes[0].path.rpartition(".")[0] if nodes else group.path


def _branch_name(node: Group, name: str) -> str:
    return f"{node.path}.{name}" if node.kind != "residual" else name


def _sized(node: Leaf, target: tuple[Any, ...], last: bool) -> Leaf:
    """An upsample whose ``size_of`` names a tensor: the same layer with that tensor's spatial size as its size."""
    from ..layers.upsample import sized_as
    return Leaf(sized_as(node.spec, target, last), node.formula, node.name, node.path, node.line, node.inputs,
                node.save, node.user_defined)
