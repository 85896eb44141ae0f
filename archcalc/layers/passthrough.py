"""Layers that pass data on unchanged or only relabel its dimensions: ``identity``, ``dropout``
(and ``stochastic_depth``; identities at inference) and ``flatten``."""
from __future__ import annotations

from ..core.declare import choice, field, maybe
from ..core.errors import ShapeError
from ..core.fields import Int, Number
from ..core.num import prod
from .base import Cost, LayerSpec, Shape, call_field, formula, torch_dim


class IdentitySpec(LayerSpec):
    """Passes the input through (torch.nn.Identity)."""

    TYPES = ("identity",)


class DropoutSpec(LayerSpec):
    """Dropout; the analysis is of inference, where dropout is the identity."""

    TYPES = ("dropout",)
    p = field(Number, 0.5, "Drop probability (no count changes at inference).")
    call = call_field("module", module="nn.Dropout, registered in __init__",
                      function="F.dropout(x, p, training=self.training), called in forward")


class StochasticDepthSpec(LayerSpec):
    """Stochastic depth (torchvision.ops.stochastic_depth): drops whole samples in training; the identity at
    inference."""

    TYPES = ("stochastic_depth",)
    p = field(Number, 0.5, "Drop probability (no count changes at inference).")
    mode = field(maybe(choice("row", "batch")), None, "torchvision's mode: 'row' (per sample, the default) or "
                                                      "'batch' (no count changes).")
    call = call_field("function", module="a module of its own (torchvision's StochasticDepth, in EfficientNet and "
                                         "ConvNeXt), registered in __init__",
                      function="the function torchvision.ops.stochastic_depth, called in forward")


class ChannelDropoutSpec(LayerSpec):
    """Dropout of whole channels (torch.nn.Dropout1d/2d/3d, Keras SpatialDropout); the identity at inference."""

    TYPES = ("dropout1d", "dropout2d", "dropout3d")
    p = field(Number, 0.5, "Drop probability (no count changes at inference).")
    call = call_field("module", module="nn.Dropout1d / nn.Dropout2d / nn.Dropout3d, registered in __init__",
                      function="F.dropout1d / F.dropout2d / F.dropout3d, called in forward")
    channels_first = True


@formula(IdentitySpec)
@formula(DropoutSpec)
@formula(StochasticDepthSpec)
@formula(ChannelDropoutSpec)
def passthrough(spec: LayerSpec, x: Shape) -> Cost:
    """No parameters and no arithmetic."""
    return Cost(shape=x)


class FlattenSpec(LayerSpec):
    """Flattens a range of dimensions, as torch.nn.Flatten."""

    TYPES = ("flatten",)
    start_dim = field(Int, 1, "First dimension to flatten, counted as in torch (0 is the batch).")
    end_dim = field(Int, -1, "Last dimension to flatten, counted as in torch.")
    call = call_field("function", module="nn.Flatten, registered in __init__ (torchvision's ConvNeXt classifier)",
                      function="the tensor's flatten, called in forward (torch.flatten(x, 1), x.flatten(2))")


@formula(FlattenSpec)
def flatten(spec: FlattenSpec, x: Shape) -> Cost:
    """Merges dimensions start_dim..end_dim into one."""
    start, end = torch_dim(spec.start_dim, x, "start_dim"), torch_dim(spec.end_dim, x, "end_dim")
    if start > end:
        raise ShapeError(f"start_dim={spec.start_dim} comes after end_dim={spec.end_dim}")
    shape = (*x[:start], prod(x[start:end + 1]), *x[end + 1:])
    dims = (*((d,) for d in range(start)), tuple(range(start, end + 1)), *((d,) for d in range(end + 1, len(x))))
    return Cost(shape=shape, dims=dims)
