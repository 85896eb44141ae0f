"""``token_batchnorm``: batch normalisation at inference over the last axis of tokens ``[..., C]`` (LeViT's
BatchNorm1d after a linear: timm's LinearNorm runs ``bn(x.flatten(0, 1)).reshape_as(x)``). Where ``batchnorm1d``
on ``[C, L]`` normalises the first axis, as torch.nn.BatchNorm1d on [B, C, L] does, this one normalises the last.

Counts as batch norm: weight and bias [C] (affine), running mean and variance [C] and torch's batch counter
(buffers), 2 FLOPs per element to normalise with stored statistics + 2 for the affine transform. Pointwise."""
from __future__ import annotations

from ..core.declare import field, maybe
from ..core.fields import Flag, Number, PositiveInt
from ..core.num import prod
from .base import Cost, LayerSpec, Shape, check_equal, formula
from .norm import AFFINE, NORMALISE


class TokenBatchNormSpec(LayerSpec):
    """torch.nn.BatchNorm1d over the last dimension of [..., C] tokens, the others flattened into its batch."""

    TYPES = ("token_batchnorm",)
    num_features = field(maybe(PositiveInt), None, "Channels C, the last dimension; inferred, checked when given.")
    eps = field(Number, 1e-5, "Added to the variance for stability (no count changes).")
    momentum = field(maybe(Number), 0.1, "Running-average momentum (no count changes).")
    affine = field(Flag, True, "Learnable scale and shift: 2 parameters per channel.")
    track_running_stats = field(Flag, True, "Keep running mean and variance: 2 buffers per channel.")
    num_batches_tracked = field(Flag, True, "torch also keeps a one-element batch counter buffer.")
    kind = "norm"


@formula(TokenBatchNormSpec)
def token_batchnorm(spec: TokenBatchNormSpec, x: Shape) -> Cost:
    c = x[-1]
    check_equal(spec.num_features, c, "num_features", "channels in its last dimension")
    buffers = 2 * c + (1 if spec.num_batches_tracked else 0) if spec.track_running_stats else 0
    per_element = NORMALISE + (AFFINE if spec.affine else 0)
    return Cost(shape=x, params=2 * c if spec.affine else 0, buffers=buffers, flops={"norm": prod(x) * per_element},
                running=2 * c if spec.track_running_stats else 0)
