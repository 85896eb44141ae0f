"""The layer catalogue. ``MODULES`` is the one place layer modules are listed; a module registers its
types with ``@formula`` when imported, and is imported only when a spec uses one of its types.

Which module holds which type is read off the ``TYPES = (...)`` declarations in the module sources,
so that a run imports (and builds pydantic models for) only the layer types it needs.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from importlib import import_module
from pathlib import Path

from .base import GLOBAL, NON_UNIFORM, REGISTRY, SYMBOLIC_PHASES, Cost, LayerSpec, LayerType, PeriodicWindow, Window

MODULES = ("activation", "attention", "conv", "embedding", "linear", "matmul", "merge", "mlp", "norm", "padding",
           "passthrough", "pool", "recurrent", "reshape", "scale", "ssm", "upsample",
           "frozen_norm", "activation_smooth", "grn", "std_conv", "slicing", "bias", "constant", "rotary", "roll",
           "token_norm", "window_attention", "attention_bias")

_TYPE_LITERAL = re.compile(r"^\s+TYPES = \((.*?)\)", re.S | re.M)


def _index() -> dict[str, str]:
    """type name -> module name, from the sources (nothing is imported)."""
    index: dict[str, str] = {}
    here = Path(__file__).parent
    for module in MODULES:
        source = (here / f"{module}.py").read_text(encoding="utf-8")
        for literal in _TYPE_LITERAL.findall(source):
            for name in re.findall(r"\"([^\"]+)\"", literal):
                index[name] = module
    return index


class Catalogue(Mapping[str, LayerType]):
    """Every layer type by name; looking one up imports its module."""

    def __init__(self) -> None:
        self.index = _index()

    def __getitem__(self, name: str) -> LayerType:
        if name not in REGISTRY:
            import_module(f".{self.index[name]}", __name__)  # KeyError for an unknown name
        return REGISTRY[name]

    def __contains__(self, name: object) -> bool:
        return name in self.index

    def __iter__(self) -> Iterator[str]:
        return iter(self.index)

    def __len__(self) -> int:
        return len(self.index)

    def load_all(self) -> dict[str, LayerType]:
        for module in MODULES:
            import_module(f".{module}", __name__)
        return dict(REGISTRY)


LAYER_TYPES = Catalogue()

__all__ = ["GLOBAL", "LAYER_TYPES", "MODULES", "NON_UNIFORM", "SYMBOLIC_PHASES", "Cost", "LayerSpec", "LayerType",
           "PeriodicWindow", "Window", "closest_type"]


def closest_type(name: str) -> str | None:
    """The registered type name closest to a misspelt one."""
    from difflib import get_close_matches
    lowered = name.lower().replace("-", "_")
    if lowered in LAYER_TYPES:
        return lowered
    close = get_close_matches(lowered, list(LAYER_TYPES), n=1, cutoff=0.6)
    return close[0] if close else None
