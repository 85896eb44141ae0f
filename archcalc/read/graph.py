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
from .items import copy_body, dotted_name, interpolate, need, only, plain_name, refs, split
from .nodes import Group, Leaf, Node, Scope
from .validation import MAX_NAME, MAX_REF, check_text, closest, reword
from .yamlio import line_of

# Meaningful on every item, not passed to the layer.
ITEM_KEYS = ("name", "from", "save", "if", "repeat", "accumulate", "as")
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
        if self.depth == 0:  # the spec's own layers, all expanded: dotted names can meet other paths
            check_paths(nodes)
        return nodes

    def item(self, raw: Any, line: int | None, env: dict[str, Any], scope: Scope, where: str) -> list[Node]:
        key, body = split(raw, line, scope.path(where) if scope.prefix else where)
        body = copy_body(body)
        common = {k: body.pop(k) for k in ITEM_KEYS if k in body}
        # On a repeat, a from: or save: that names the repeat's index is each copy's own (from: "x${b}")
        per_copy = {k: common.pop(k) for k in ("from", "save") if "repeat" in common and _names_index(
            common.get(k), common.get("as", "i"))}
        given = common.get("name")
        label = given if isinstance(given, str) and given.isprintable() and len(given) <= MAX_NAME else where
        for field_name, check in (("name", dotted_name), ("save", plain_name), ("accumulate", plain_name),
                                  ("from", lambda v, _: refs(v)), ("as", _index_name)):
            try:  # checked first, to point at the key's own line
                if field_name in ("name", "save", "from"):  # ${expr} parts: names made in a loop (branches.${j})
                    common[field_name] = interpolate(common.get(field_name), env, field_name)
                check(common.get(field_name), field_name)
            except SpecError as e:
                at = scope.path(where) if scope.prefix else where
                raise e.locate(line=line_of(body, field_name) or line, path=at) from None
        try:
            if "if" in common and not _condition(common["if"], env):
                self.count()  # skipped, but looked at: a repeat of skipped items is work too
                return []
            if "as" in common and "repeat" not in common:
                raise SpecError("as: names the index of a repeat", hint="add repeat: n, or remove as:")
            if "repeat" in common:
                count = _count(common["repeat"], env)
                index = common.get("as", "i")  # a name of its own lets loops nest (HRNet's fuse: i and j)
                name, path = scope.name(dotted_name(common.get("name"), "name"), key, line)
                group = Group("repeat", name, path, line, inputs=refs(common.get("from")),
                              save=plain_name(common.get("save"), "save"), count=count)
                inner = Scope(path)
                if isinstance(count, int):
                    self.count(0, planned=count)  # every copy is at least one node: refuse before building any
                    for i in range(count):
                        before = self.nodes
                        local = {**env, index: i}
                        own = {k: interpolate(v, local, k) for k, v in per_copy.items()}
                        group.children.append(self.one(key, body, local, inner, line, str(i), own))
                        if i == 0 and count > 1 and not self.uses_index(key, body, index):
                            # the copies are alike: n copies of a unit of s nodes cost n * s, known now
                            self.count(0, planned=(count - 1) * (self.nodes - before))
                else:  # a symbolic count: one generic unit, costed once and multiplied (engine)
                    if per_copy:
                        raise SpecError("a repeat with a symbolic count cannot name tensors by its index",
                                        hint="give the count a value, or take the index out of from: and save:")
                    from ..core.symbolic import index_symbol
                    group.children.append(self.one(key, body, {**env, index: index_symbol()}, inner, line, "i", {}))
                return [self.accumulating(group, common, env, scope)]
            node = self.one(key, body, env, scope, line, dotted_name(common.get("name"), "name"), common)
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
        if isinstance(body.get("inputs"), list):  # a merge's operands may be named in a loop too (b${j})
            body["inputs"] = [interpolate(r, env, "inputs:") for r in body["inputs"]]
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

    def uses_index(self, key: str, body: Any, index: str = "i") -> bool:
        """Whether a repeated unit may read its index (``i`` unless ``as:`` names it; then its copies may differ
        in size): the name as a word in any text of the item, or of a block or custom type it names, followed
        through (blocks see their caller's names). A conservative scan: it never misses a use."""
        seen: set[str] = set()
        todo: list[Any] = [key, body]
        word = _INDEX if index == "i" else re.compile(rf"\b{re.escape(index)}\b")
        while todo:
            value = todo.pop()
            if isinstance(value, str):
                if word.search(value):
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
            only(body, ("body", "shortcut", "shortcut_name"), key)
            shortcut = body.get("shortcut") or []  # empty: the identity
            main = self.expand(need(body, "body", key), env, inner, "body")
            # the shortcut's layers are named <shortcut_name>.0, ...: torchvision's and timm's blocks say downsample
            label = dotted_name(body.get("shortcut_name", "shortcut"), "shortcut_name")
            _, shortcut_path = inner.fresh(label, group.line)
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
                named = [(None, b) for b in branches]  # numbered once if: and repeat: have been applied
            else:
                raise SpecError("branches must be a list of layer lists, or a mapping of names to layer lists")
            if len(named) < 2 and not any(isinstance(b, Mapping) for _, b in named):
                raise SpecError("parallel needs at least two branches", hint="use sequential for one")
            group.branches = self.branches(named, env, group.path)
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

    def branches(self, named: list[tuple[Any, Any]], env: dict[str, Any], path: str) -> list[tuple[str, list[Node]]]:
        """A parallel's branches, expanded. A branch is a layer list, or ``{layers: [...], if: cond, repeat: n,
        as: j}``: kept only when ``if`` holds (RepVGG's identity branch), or made ``n`` times with the index
        (HRNet's fuse: one branch per resolution). Listed branches are numbered 0, 1, ... as they come out; a named
        branch made n times is name.0, name.1, ..."""
        made: list[tuple[str | None, Any, dict[str, Any]]] = []
        for n, branch in named:
            if not isinstance(branch, Mapping):
                made.append((None if n is None else str(n), branch, env))
                continue
            where = f"branches.{n}" if n is not None else "branches"
            only(branch, ("layers", "if", "repeat", "as"), f"a branch ({where})")
            layers = need(branch, "layers", f"a branch ({where})")
            if "if" in branch and not _condition(branch["if"], env):
                self.count()
                continue
            if "repeat" not in branch:
                if "as" in branch:
                    raise SpecError("as: names the index of a repeat", hint="add repeat: n, or remove as:")
                made.append((None if n is None else str(n), layers, env))
                continue
            count = _count(branch["repeat"], env)
            if not isinstance(count, int):
                raise SpecError("a repeated branch needs a number of copies, not a symbol",
                                hint="give the count a value with --set")
            index = _index_name(branch.get("as"), "as") or "i"
            made += [(None if n is None else f"{n}.{k}", layers, {**env, index: k}) for k in range(count)]
        if not made:
            raise SpecError("every branch of the parallel is skipped by if:", hint="keep at least one branch")
        names = [str(k) if n is None else n for k, (n, _, _) in enumerate(made)]
        return [(name, self.expand(layers, local, Scope(f"{path}.{name}"), f"branches.{name}"))
                for name, (_, layers, local) in zip(names, made)]

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


def check_paths(nodes: list[Node]) -> None:
    """Refuse two layers or groups at one path, which dotted names can make (``a.b`` beside a block ``a`` holding a
    layer ``b``): a reference to it would be ambiguous."""
    seen: dict[str, int | None] = {}
    todo = list(nodes)
    while todo:
        node = todo.pop()
        if node.path in seen:
            raise SpecError(f"two layers have the path {node.path!r}", line=node.line, path=node.path,
                            hint=f"the other is on line {seen[node.path]}; rename one")
        seen[node.path] = node.line
        if isinstance(node, Group):
            todo += node.children + [n for _, branch in node.branches for n in branch]
            if node.merge is not None:
                todo.append(node.merge)


# ---- small helpers ----

def _keras() -> Any:
    from . import keras  # the Keras vocabulary loads only when a name is not archcalc's own
    return keras


def _names_index(value: Any, index: Any) -> bool:
    """Whether a from: or save: text uses the repeat index ``index`` inside a ``${...}`` part."""
    if not isinstance(value, str) or "${" not in value or not isinstance(index, str):
        return False
    word = re.compile(rf"\b{re.escape(index)}\b")
    return any(word.search(part) for part in re.findall(r"\$\{([^{}]*)\}", value))


def _index_name(value: Any, what: str) -> str | None:
    """``as:``: the name a repeat's index goes by in its unit (default ``i``)."""
    if value is not None and (not isinstance(value, str) or not value.isidentifier() or len(value) > MAX_NAME):
        raise SpecError(f"{what}: must be a name such as j, got {value!r}", hint="as: j, with repeat: n")
    return value


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
