"""Layers that pass data on unchanged or only relabel its dimensions: ``identity``, ``dropout``
(and ``stochastic_depth``; identities at inference) and ``flatten``."""
from __future__ import annotations

from ..declare import choice, field, maybe
from ..errors import ShapeError
from ..fields import Int, Number
from ..num import prod
from .base import Cost, LayerSpec, Shape, formula, torch_dim


class IdentitySpec(LayerSpec):
    """Passes the input through (torch.nn.Identity)."""

    TYPES = ("identity",)


class DropoutSpec(LayerSpec):
    """Dropout; the analysis is of inference, where dropout is the identity."""

    TYPES = ("dropout", "stochastic_depth")
    p = field(Number, 0.5, "Drop probability (no count changes at inference).")
    mode = field(maybe(choice("row", "batch")), None, "stochastic_depth only: torchvision's mode "
                                                           "(no count changes).")


class ChannelDropoutSpec(LayerSpec):
    """Dropout of whole channels (torch.nn.Dropout1d/2d/3d, Keras SpatialDropout); the identity at inference."""

    TYPES = ("dropout1d", "dropout2d", "dropout3d")
    p = field(Number, 0.5, "Drop probability (no count changes at inference).")
    channels_first = True


@formula(IdentitySpec)
@formula(DropoutSpec)
@formula(ChannelDropoutSpec)
def passthrough(spec: LayerSpec, x: Shape) -> Cost:
    """No parameters and no arithmetic."""
    return Cost(shape=x)


class FlattenSpec(LayerSpec):
    """Flattens a range of dimensions, as torch.nn.Flatten."""

    TYPES = ("flatten",)
    start_dim = field(Int, 1, "First dimension to flatten, counted as in torch (0 is the batch).")
    end_dim = field(Int, -1, "Last dimension to flatten, counted as in torch.")


@formula(FlattenSpec)
def flatten(spec: FlattenSpec, x: Shape) -> Cost:
    """Merges dimensions start_dim..end_dim into one."""
    start, end = torch_dim(spec.start_dim, x, "start_dim"), torch_dim(spec.end_dim, x, "end_dim")
    if start > end:
        raise ShapeError(f"start_dim={spec.start_dim} comes after end_dim={spec.end_dim}")
    shape = (*x[:start], prod(x[start:end + 1]), *x[end + 1:])
    dims = (*((d,) for d in range(start)), tuple(range(start, end + 1)), *((d,) for d in range(end + 1, len(x))))
    return Cost(shape=shape, dims=dims)
