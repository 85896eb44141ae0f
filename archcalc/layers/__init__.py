"""The layer catalogue: importing a module registers its types; this is the one place they are assembled."""
from __future__ import annotations

from difflib import get_close_matches

from . import activation, conv, linear, merge, norm, pool, scale, shape_ops  # noqa: F401  (registration)
from .base import GLOBAL, NON_UNIFORM, REGISTRY, Cost, LayerSpec, LayerType, Window

__all__ = ["GLOBAL", "NON_UNIFORM", "REGISTRY", "Cost", "LayerSpec", "LayerType", "Window",
           "closest_type"]


def closest_type(name: str) -> str | None:
    """The registered type name closest to a misspelt one."""
    lowered = name.lower().replace("-", "_")
    if lowered in REGISTRY:
        return lowered
    close = get_close_matches(lowered, list(REGISTRY), n=1, cutoff=0.6)
    return close[0] if close else None
