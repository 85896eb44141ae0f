"""PyTorch translations of layers that move or reshape data: flatten, reshape, permute, chunk, select, the
shuffles, pad, crop, scale and upsample."""
from __future__ import annotations

from ..layers.base import torch_dim
from .torch_base import Site, call, compact, define, f_pad, kw, lit, torch_code


@torch_code("flatten")
def flatten(site: Site, args: list[str]) -> str:
    s = site.spec
    dims = [s.start_dim, *([s.end_dim] if s.end_dim != -1 else [])]
    if s.call == "module":
        return site.module(call("nn.Flatten", *dims)) + f"({args[0]})"
    return call(f"{args[0]}.flatten", *dims)


@torch_code("reshape")
def reshape(site: Site, args: list[str]) -> str:
    return call(f"{args[0]}.reshape", f"{args[0]}.shape[0]", *site.output)


@torch_code("permute")
def permute(site: Site, args: list[str]) -> str:
    return call(f"{args[0]}.permute", *site.spec.dims)


@torch_code("chunk")
def chunk(site: Site, args: list[str]) -> str:
    s = site.spec
    return f"{args[0]}.chunk({s.chunks}, dim={s.dim})[{s.index}]"


@torch_code("select")
def select(site: Site, args: list[str]) -> str:
    return call(f"{args[0]}.select", site.spec.dim, site.spec.index)


CHANNEL_SHUFFLE = '''
def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle: channels [g * n] viewed as [g, n], transposed to [n, g] and flattened."""
    b, c = x.shape[0], x.shape[1]
    return x.reshape(b, groups, c // groups, *x.shape[2:]).transpose(1, 2).reshape(x.shape)
'''
define("channel_shuffle", CHANNEL_SHUFFLE)


@torch_code("channel_shuffle")
def channel_shuffle(site: Site, args: list[str]) -> str:
    return call(site.helper("channel_shuffle"), args[0], site.spec.groups)


@torch_code("pixel_shuffle")
def pixel_shuffle(site: Site, args: list[str]) -> str:
    return site.module(call("nn.PixelShuffle", site.spec.upscale_factor)) + f"({args[0]})"


@torch_code("pixel_unshuffle")
def pixel_unshuffle(site: Site, args: list[str]) -> str:
    return site.module(call("nn.PixelUnshuffle", site.spec.downscale_factor)) + f"({args[0]})"


@torch_code("pad")
def pad(site: Site, args: list[str]) -> str:
    s = site.spec
    nd = len(site.x) - 1
    pads = list(s.padding) if isinstance(s.padding, tuple) else [(s.padding, s.padding)] * nd
    extra = [f"mode={lit(s.mode)}"] if s.mode != "constant" else kw(("value", s.value, 0))
    return f_pad(args[0], pads, *extra)


@torch_code("crop")
def crop(site: Site, args: list[str]) -> str:
    s = site.spec
    nd = len(site.x) - 1
    if s.margin is not None:
        offsets = tuple(a for a, _ in s.margin) if isinstance(s.margin, tuple) else (s.margin,) * nd
    else:
        offsets = tuple((n - m) // 2 for n, m in zip(site.x[1:], site.output[1:]))  # archcalc's centre
    cuts = ", ".join(f"{o}:{o + m}" for o, m in zip(offsets, site.output[1:]))
    return f"{args[0]}[:, :, {cuts}]"


SCALE = '''
class Scale(nn.Module):
    """weight * x (+ bias), one learnable value per entry of dimension `dim` (batch included), broadcast over the
    others: a layer scale."""

    def __init__(self, size: int, dim: int, ndim: int, bias: bool = False) -> None:
        super().__init__()
        self.shape = [size if i == dim else 1 for i in range(ndim)]
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * self.weight.view(self.shape)
        return y if self.bias is None else y + self.bias.view(self.shape)
'''
define("Scale", SCALE)


@torch_code("scale")
def scale(site: Site, args: list[str]) -> str:
    s = site.spec
    axis = torch_dim(s.dim, site.x)  # per-sample index
    if s.call == "parameter":  # parameters of the network module itself, as torchvision's ConvNeXt layer_scale
        size = site.x[axis]
        shape = lit(tuple(size if i == axis + 1 else 1 for i in range(len(site.x) + 1)))
        weight = site.module(f"nn.Parameter(torch.ones({size}))")
        out = f"{args[0]} * {weight}.view{shape}"
        if s.bias:
            out += f" + {site.module(f'nn.Parameter(torch.zeros({size}))', 'bias')}.view{shape}"
        return out
    module = site.module(call(site.helper("Scale"), site.x[axis], axis + 1, len(site.x) + 1,
                              *kw(("bias", s.bias, False))))
    return f"{module}({args[0]})"


@torch_code("upsample")
def upsample(site: Site, args: list[str]) -> str:
    s = site.spec
    size = [f"size={lit(compact(s.size))}"] if s.size is not None else []
    factor = [f"scale_factor={lit(s.scale_factor)}"] if s.scale_factor is not None else []
    options = [*size, *factor, f"mode={lit(s.mode)}", *kw(("align_corners", s.align_corners, None))]
    if s.call == "function":
        return call("F.interpolate", args[0], *options)
    return site.module(call("nn.Upsample", *options)) + f"({args[0]})"


@torch_code("split")
def split(site: Site, args: list[str]) -> str:
    s = site.spec
    return f"torch.split({args[0]}, {lit(s.split_size_or_sections)}, dim={s.dim})[{s.index}]"


@torch_code("slice")
def slice_(site: Site, args: list[str]) -> str:
    """x[..., start:end:step] with the bounds as given (Python's rules), or x.narrow(dim, start, length)."""
    s = site.spec
    if s.length is not None:
        return call(f"{args[0]}.narrow", s.dim, s.start, s.length)
    dim = s.dim % (len(site.x) + 1)  # counted from the batch
    end = "" if s.end is None else str(s.end)
    step = "" if s.step == 1 else f":{s.step}"
    return f"{args[0]}[{':, ' * dim}{s.start or ''}:{end}{step}]"


@torch_code("bias_add")
def bias_add(site: Site, args: list[str]) -> str:
    """A tensor of the network module itself, added: a buffer (BART's final_logits_bias) or a parameter."""
    n = site.x[-1]
    if site.spec.buffer:
        site.init(f'self.register_buffer("{site.attr}", torch.zeros({n}))')
        return f"{args[0]} + self.{site.attr}"
    return f"{args[0]} + {site.module(f'nn.Parameter(torch.zeros({n}))')}"
