"""The tree a spec expands to: leaves (one layer each), groups (blocks, repeats, structures), and the
names used at each level of it. ``graph`` builds it; the engine and the exporter walk it."""
from __future__ import annotations

from typing import Any, Union

from ..core.errors import SpecError
from ..layers.base import Formula


class Leaf:
    """One layer: its validated spec, its formula, and where it sits."""

    __slots__ = ("spec", "formula", "name", "path", "line", "inputs", "save", "user_defined", "accumulate", "adder")

    def __init__(self, spec: Any, formula: Formula, name: str, path: str, line: int | None,
                 inputs: tuple[str, ...] | None = None, save: str | None = None, user_defined: bool = False) -> None:
        self.spec = spec
        self.formula = formula
        self.name = name
        self.path = path
        self.line = line
        self.inputs = inputs  # refs to earlier tensors; None: the previous output
        self.save = save
        self.user_defined = user_defined
        self.accumulate: str | None = None  # the running sum its output is added into (``accumulate:``)
        self.adder: Leaf | None = None  # the add layer that does it, from the second item of the sum on

    @property
    def type(self) -> str:
        return str(self.spec.type)


class Group:
    """A named group of nodes: a block call, a repeat, a sequential, or branches with a merge."""

    __slots__ = ("kind", "name", "path", "line", "children", "branches", "merge", "inputs", "save", "count",
                 "accumulate", "adder")

    def __init__(self, kind: str, name: str, path: str, line: int | None, inputs: tuple[str, ...] | None = None,
                 save: str | None = None, count: Any = None) -> None:
        self.kind = kind  # block name, "repeat", "sequential", "parallel" or "residual"
        self.name = name
        self.path = path
        self.line = line
        self.children: list[Node] = []
        self.branches: list[tuple[str, list[Node]]] = []
        self.merge: Leaf | None = None
        self.inputs = inputs
        self.save = save
        self.count = count  # a repeat's count; a symbol means one generic unit stands for all of them
        self.accumulate: str | None = None  # as Leaf's
        self.adder: Leaf | None = None


Node = Union[Leaf, Group]


class Scope:
    """Names already used at one level of the tree, and per-type counters for generated names."""

    __slots__ = ("prefix", "used", "counts")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.used: dict[str, int | None] = {}
        self.counts: dict[str, int] = {}

    def name(self, given: str | None, kind: str, line: int | None) -> tuple[str, str]:
        """(local name, dotted path); generated names are <kind>_<n>, 1-based per kind."""
        if given is None:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            given = f"{kind}_{self.counts[kind]}"
            while given in self.used:
                self.counts[kind] += 1
                given = f"{kind}_{self.counts[kind]}"
        elif given in self.used:
            raise SpecError(f"duplicate name {given!r}", line=line, path=self.path(given),
                            hint=f"already used on line {self.used[given]}; rename one")
        self.used[given] = line
        return given, self.path(given)

    def path(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fresh(self, base: str, line: int | None) -> tuple[str, str]:
        """``base``, or ``base_2``, ``base_3``, ... when taken (parts a structure adds on its own)."""
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}_{n}"
        return self.name(name, base, line)
