"""Attention on more than one sequence per sample: a per-sample input ``[..., T, d]`` (MobileViT's patch sequences
``[P, N, d]``, batched windows) is that many independent ``[T, d]`` sequences, sharing the layer's weights.

Every figure that a sequence costs (MACs, FLOPs, the score workspace, the scored pairs, a K/V cache) is multiplied
by the number of sequences; parameters are not. The leading dimensions do not mix: along them an output reads its
own sequence only. torch computes it with the sequences side by side in the batch (``x.flatten(0, -3)``), through
nn.MultiheadAttention or written out."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..core.errors import SpecError
from ..core.num import is_concrete, prod
from .base import Cost, Shape


def over_leading_dims(formula: Callable[..., Cost]) -> Callable[..., Cost]:
    """The formula of a layer on ``[T, d]`` (and any further inputs, cross-attention's keys and values), extended
    to ``[..., T, d]``."""
    @functools.wraps(formula)
    def batched(spec: Any, x: Shape, *others: Any) -> Cost:
        if len(x) <= 2:
            return formula(spec, x, *others)
        lead, n = x[:-2], prod(x[:-2])
        if any(o is not None for o in others):
            raise SpecError(f"kv_from on a rank-{len(x)} input {list(x)}: cross-attention from several sequences "
                            "per sample is not modelled", hint="give the queries one [T, d] sequence")
        for reason, holds in (("causal: true", getattr(spec, "causal", False)),
                              ("relative_buckets", getattr(spec, "relative_buckets", 0)),
                              ("scaling: false", not getattr(spec, "scaling", True)),
                              ("a cache", not (is_concrete(spec.cache) and spec.cache == 0)),
                              ("kv_cache: true", getattr(spec, "kv_cache", None))):
            if holds:
                raise SpecError(f"{reason} on a rank-{len(x)} input {list(x)}: not modelled over several sequences "
                                "per sample", hint="give the layer one [T, d] sequence")
        one = formula(spec, x[-2:])
        pairs = one.pairs._replace(scored=one.pairs.scored * n) if one.pairs is not None else None
        rf = one.rf if not isinstance(one.rf, dict) else {d + len(lead): w for d, w in one.rf.items()}
        return Cost(shape=(*lead, *one.shape), params=one.params, buffers=one.buffers, macs=one.macs * n,
                    flops={k: v * n for k, v in one.flops.items()}, rf=rf, dims=None, cache=one.cache * n,
                    shared=one.shared, active=one.active, bias=one.bias, workspace=one.workspace * n,
                    statistics=one.statistics, running=one.running, pairs=pairs)
    return batched
