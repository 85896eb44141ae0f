"""Expanding a spec's layer list into a tree of nodes: blocks, repeats, branches and custom layers.

Everything user-written is resolved here, at load time: block arguments and repeat indices are
substituted, expressions evaluated, each leaf validated by its pydantic model. The engine then only
walks the tree. Leaves carry their formula, so the engine never looks anything up.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic_core import ValidationError

from ..core.errors import ArchcalcError, SpecError
from ..core.expr import evaluate
from ..layers import LAYER_TYPES, closest_type
from ..layers.base import Formula
from .items import copy_body, need, only, plain_name, refs, split
from .nodes import Group, Leaf, Node, Scope
from .validation import MAX_NAME, MAX_REF, check_text, closest, reword
from .yamlio import line_of

ITEM_KEYS = ("name", "from", "save", "if", "repeat", "accumulate")  # meaningful on every item, not passed to the layer
STRUCTURES = ("sequential", "parallel", "residual")
_INDEX = re.compile(r"\bi\b")  # the repeat index as a name in an expression
# Nodes after expansion: every layer, block call, structure, copy of a repeated unit and item skipped by if:
# counts one (a repeat is its copies). 20x the largest zoo network (DenseNet-161: about 1,000 nodes), expanded and
# analysed in seconds.
MAX_NODES = 20_000
MAX_DEPTH = 32  # nested blocks
MAX_NESTING = 64  # layer lists inside layer lists, blocks expanded; keeps every recursion far from Python's limit
# their dim defaults to the channels: 1, or -1 under channels_last
CHANNEL_DIM = ("concat", "chunk", "scale", "split", "grn")


class Expander:
    """Turns raw layer items into nodes, with the spec's blocks and custom layer types."""

    def __init__(self, blocks: Mapping[str, Any], custom: Mapping[str, Any], layout_last: bool) -> None:
        self.blocks = blocks
        self.custom = custom
        self.layout_last = layout_last
        self.nodes = 0
        self.depth = 0  # layer lists open, each inside the one before (structures, blocks)
        self.stack: list[str] = []

    def count(self, n: int = 1, planned: int = 0) -> None:
        """Count ``n`` more nodes; refuse when they, and ``planned`` ones still to build, pass ``MAX_NODES``."""
        self.nodes += n
        if self.nodes + planned > MAX_NODES:
            raise SpecError(f"the spec expands to more than {MAX_NODES:,} layers and groups",
                            hint="every layer, block call, structure, repeated copy and skipped item counts; "
                                 "reduce repeat counts")

    # ---- items ----

    def expand(self, items: Any, env: dict[str, Any], scope: Scope, where: str) -> list[Node]:
        if not isinstance(items, list):
            raise SpecError(f"{where} must be a list of layers", line=line_of(items), path=scope.prefix or None)
        if self.depth >= MAX_NESTING:  # blocks multiply the nesting the YAML shows: bound it as expanded
            raise SpecError(f"layer lists are nested more than {MAX_NESTING} deep, blocks expanded",
                            hint="flatten nested sequential, residual or parallel layers")
        nodes: list[Node] = []
        self.depth += 1
        try:
            for index, item in enumerate(items):
                nodes.extend(self.item(item, line_of(items, index), env, scope, f"{where}[{index}]"))
        finally:
            self.depth -= 1
        return nodes

    def item(self, raw: Any, line: int | None, env: dict[str, Any], scope: Scope, where: str) -> list[Node]:
        key, body = split(raw, line, scope.path(where) if scope.prefix else where)
        body = copy_body(body)
        common = {k: body.pop(k) for k in ITEM_KEYS if k in body}
        given = common.get("name")
        label = given if isinstance(given, str) and given.isprintable() and len(given) <= MAX_NAME else where
        for field_name, check in (("name", plain_name), ("save", plain_name), ("accumulate", plain_name),
                                  ("from", lambda v, _: refs(v))):
            try:  # checked first, to point at the key's own line
                check(common.get(field_name), field_name)
            except SpecError as e:
                at = scope.path(where) if scope.prefix else where
                raise e.locate(line=line_of(body, field_name) or line, path=at) from None
        try:
            if "if" in common and not _condition(common["if"], env):
                self.count()  # skipped, but looked at: a repeat of skipped items is work too
                return []
            if "repeat" in common:
                count = _count(common["repeat"], env)
                name, path = scope.name(plain_name(common.get("name"), "name"), key, line)
                group = Group("repeat", name, path, line, inputs=refs(common.get("from")),
                              save=plain_name(common.get("save"), "save"), count=count)
                inner = Scope(path)
                if isinstance(count, int):
                    self.count(0, planned=count)  # every copy is at least one node: refuse before building any
                    for i in range(count):
                        before = self.nodes
                        group.children.append(self.one(key, body, {**env, "i": i}, inner, line, str(i), {}))
                        if i == 0 and count > 1 and not self.uses_index(key, body):
                            # the copies are alike: n copies of a unit of s nodes cost n * s, known now
                            self.count(0, planned=(count - 1) * (self.nodes - before))
                else:  # a symbolic count: one generic unit, costed once and multiplied (engine)
                    from ..core.symbolic import index_symbol
                    group.children.append(self.one(key, body, {**env, "i": index_symbol()}, inner, line, "i", {}))
                return [self.accumulating(group, common, env, scope)]
            node = self.one(key, body, env, scope, line, plain_name(common.get("name"), "name"), common)
            return [self.accumulating(node, common, env, scope)]
        except ArchcalcError as e:
            raise e.locate(line=line, path=scope.path(str(label)) if scope.prefix else str(label)) from None

    def one(self, key: str, body: dict[str, Any], env: dict[str, Any], scope: Scope, line: int | None,
            given: str | None, common: Mapping[str, Any]) -> Node:
        inputs, save = refs(common.get("from")), plain_name(common.get("save"), "save")
        if key in STRUCTURES:
            self.count()
            name, path = scope.name(given, key, line)
            # An unnamed residual is transparent for naming: its layers read layer1.0.conv1, as in torchvision.
            inner = scope if given is None and key == "residual" else Scope(path)
            return self.structure(key, body, env, Group(key, name, path, line, inputs=inputs, save=save), inner)
        if key in self.blocks:
            self.count()
            name, path = scope.name(given, key, line)
            return self.block(key, body, env, Group(key, name, path, line, inputs=inputs, save=save))
        if key in self.custom:
            from .custom import custom_layer
            spec, fn = custom_layer(key, self.custom[key], body, env)
            name, path = scope.name(given, key, line)
            return self.leaf(spec, fn, name, path, line, inputs, save, user_defined=True)
        if key not in LAYER_TYPES and _keras().lookup(key):
            keras = _keras()
            translated = keras.translate(key, body, self.layout_last)
            if len(translated) == 1:
                return self.one(translated[0][0], translated[0][1], env, scope, line, given, common)
            self.count()
            group_name, path = scope.name(given, keras.snake(key), line)
            group = Group("sequential", group_name, path, line, inputs=inputs, save=save)
            inner = Scope(path)
            group.children = [self.one(t, b, env, inner, line, None, {}) for t, b in translated]
            return group
        entry = LAYER_TYPES.get(key)
        if entry is None:
            local = next(iter(closest(key, [*self.blocks, *self.custom], 1)), None)
            if key[:1].isupper() and not local:  # a Keras class name: its archcalc form, not a look-alike type
                raise SpecError(f"unknown layer type {key!r}", hint=_keras().suggest(key, LAYER_TYPES))
            close = closest_type(key) or local
            raise SpecError(f"unknown layer type {key!r}", hint=f"did you mean {close!r}?" if close else
                            "run archcalc schema for the layer types")
        if given is not None:
            body["name"] = given
        if self.layout_last and key in CHANNEL_DIM:
            body.setdefault("dim", -1)  # the channels are last
        body["type"] = key
        try:
            spec = entry.model.validate(body, {"env": env})
        except ValidationError as e:
            raise reword(e, body, entry.model) from None
        tied = getattr(spec, "tied_to", None)
        if tied is not None:
            check_text(tied, "tied_to", MAX_REF)
        name, path = scope.name(given, key, line)
        return self.leaf(spec, entry.formula, name, path, line, inputs, save)

    def accumulating(self, node: Node, common: Mapping[str, Any], env: dict[str, Any], scope: Scope) -> Node:
        """``accumulate: total``: the item's output is added into the running sum ``total`` (the engine starts the
        sum at the first item that names it). Each such item carries the ``add`` layer that may do it, named
        ``accumulate_<total>`` beside the item."""
        total = plain_name(common.get("accumulate"), "accumulate")
        if total is None:
            return node
        if total == node.name or total == node.save:
            raise SpecError(f"accumulate: {total!r} is also the name of this item's own output",
                            hint="give the running sum a name of its own")
        adder, _ = scope.fresh(f"accumulate_{total}", node.line)
        scope.used.pop(adder)  # reserved here, taken by the add layer itself just below
        add = self.one("add", {}, env, scope, node.line, adder, {})
        assert isinstance(add, Leaf)
        node.accumulate, node.adder = total, add
        return node

    def leaf(self, spec: Any, fn: Formula, name: str, path: str, line: int | None,
             inputs: tuple[str, ...] | None, save: str | None, user_defined: bool = False) -> Leaf:
        self.count()
        refs = spec.inputs if spec.arity == "many" else None
        if refs is not None:
            if inputs is not None:
                raise SpecError(f"{spec.type} has both from: and inputs:", line=line, path=path,
                                hint=f"list every operand in inputs: (for example inputs: [{inputs[0]}, ...])")
            inputs = tuple(check_text(r, "inputs:", MAX_REF) for r in refs)
        return Leaf(spec, fn, name, path, line, inputs, save, user_defined)

    def uses_index(self, key: str, body: Any) -> bool:
        """Whether a repeated unit may read the index ``i`` (then its copies may differ in size): ``i`` as a
        word in any text of the item, or of a block or custom type it names, followed through (blocks see
        their caller's names). A conservative scan: it never misses a use."""
        seen: set[str] = set()
        todo: list[Any] = [key, body]
        while todo:
            value = todo.pop()
            if isinstance(value, str):
                if _INDEX.search(value):
                    return True
                if value in (*self.blocks, *self.custom) and value not in seen:
                    seen.add(value)
                    definition = self.blocks.get(value) or self.custom.get(value)
                    todo.append(vars(definition) if hasattr(definition, "__dict__") else definition)
            elif isinstance(value, Mapping):
                todo.extend(k for k in value if isinstance(k, str))
                todo.extend(value.values())
            elif isinstance(value, (list, tuple)):
                todo.extend(value)
            elif hasattr(value, "__dict__") and not isinstance(value, (int, float)):
                todo.append(vars(value))
        return False

    # ---- structures ----

    def structure(self, key: str, body: dict[str, Any], env: dict[str, Any], group: Group, inner: Scope) -> Group:
        if key == "sequential":
            only(body, ("layers",), key)
            group.children = self.expand(need(body, "layers", key), env, inner, "layers")
            return group
        if key == "residual":
            only(body, ("body", "shortcut"), key)
            shortcut = body.get("shortcut") or []  # empty: the identity
            main = self.expand(need(body, "body", key), env, inner, "body")
            _, shortcut_path = inner.fresh("shortcut", group.line)
            side = self.expand(shortcut, env, Scope(shortcut_path), "shortcut")
            group.branches = [("body", main), ("shortcut", side)]
            merge_key, merge_body = "add", {}
        else:
            only(body, ("branches", "merge"), key)
            branches = need(body, "branches", key)
            if isinstance(branches, Mapping):
                named = list(branches.items())
                for n, _ in named:
                    try:
                        check_text(str(n), "branch name")
                    except SpecError as e:
                        raise e.locate(line=line_of(branches, n)) from None
            elif isinstance(branches, list):
                named = [(str(i), b) for i, b in enumerate(branches)]
            else:
                raise SpecError("branches must be a list of layer lists, or a mapping of names to layer lists")
            if len(named) < 2:
                raise SpecError("parallel needs at least two branches", hint="use sequential for one")
            group.branches = [(str(n), self.expand(b, env, Scope(f"{group.path}.{n}"), f"branches.{n}"))
                              for n, b in named]
            merge = body.get("merge", "concat")
            merge_key, merge_body = (merge, {}) if isinstance(merge, str) else split(merge, line_of(merge), "merge")
        if merge_key not in ("add", "mul", "concat", "sub"):
            raise SpecError(f"merge must be add, mul, sub or concat, not {merge_key!r}")
        merge_name, _ = inner.fresh(merge_key, group.line)
        inner.used.pop(merge_name)  # reserved here, taken by the merge layer itself just below
        node = self.one(merge_key, dict(merge_body), env, inner, group.line, merge_name, {})
        assert isinstance(node, Leaf)
        group.merge = node
        return group

    def block(self, key: str, body: dict[str, Any], env: dict[str, Any], group: Group) -> Group:
        if key in self.stack:
            cycle = " -> ".join([*self.stack[self.stack.index(key):], key])
            raise SpecError(f"block {key!r} uses itself ({cycle})", hint="blocks cannot be recursive")
        if len(self.stack) >= MAX_DEPTH:
            raise SpecError(f"blocks are nested more than {MAX_DEPTH} deep")
        from .blocks import bind_args  # the block models load only when a spec calls a block
        definition = self.blocks[key]
        block_env = {**env, **bind_args(key, definition.args, body, env)}
        self.stack.append(key)
        try:
            group.children = self.expand(definition.layers, block_env, Scope(group.path), "layers")
        finally:
            self.stack.pop()
        return group


# ---- small helpers ----

def _keras() -> Any:
    from . import keras  # the Keras vocabulary loads only when a name is not archcalc's own
    return keras


def _condition(value: Any, env: dict[str, Any]) -> bool:
    result = evaluate(value, env) if isinstance(value, str) else value
    if not isinstance(result, bool):
        raise SpecError(f"if: must be true or false, got {result!r}")
    return result


def _count(value: Any, env: dict[str, Any]) -> Any:
    result = evaluate(value, env) if isinstance(value, str) else value
    if type(result).__module__.startswith("sympy") and getattr(result, "is_integer", False):
        return result
    if isinstance(result, bool) or not isinstance(result, int) or result < 1:
        raise SpecError(f"repeat must be a positive integer, got {result!r}")
    if result > MAX_NODES:
        raise SpecError(f"repeat {result} is above the limit of {MAX_NODES:,}")
    return result
