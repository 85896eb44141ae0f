"""Exporting a spec as code for a deep-learning framework: ``archcalc export SPEC --to pytorch``.

Generation is string building from the expanded network; nothing here imports a framework.
"""
from __future__ import annotations

from typing import Any

from ..core.errors import SpecError

TARGETS = ("pytorch",)


def export(network: Any, to: str = "pytorch") -> str:
    """The source of a runnable module for ``network`` (a loaded ``Network``) in framework ``to``."""
    if to != "pytorch":
        raise SpecError(f"cannot export to {to!r}", hint=f"targets: {', '.join(TARGETS)}")
    from .pytorch import to_pytorch
    return to_pytorch(network)


__all__ = ["TARGETS", "export"]
