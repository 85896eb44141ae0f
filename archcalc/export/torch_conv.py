"""PyTorch translations of convolutions (transposed too), linear layers and pooling."""
from __future__ import annotations

from typing import Any

from ..core.errors import SpecError
from ..layers.base import per_axis
from ..layers.conv import same_padding, torch_transpose
from .torch_base import Site, axes, call, compact, define, f_pad, kw, lit, tie, torch_code

# ---- convolutions and linear layers ----

PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


@torch_code("conv1d", "conv2d", "conv3d")
def conv(site: Site, args: list[str]) -> str:
    s, x = site.spec, args[0]
    k, st, d = axes(site, (s.kernel_size, "kernel_size"), (s.stride, "stride"), (s.dilation, "dilation"))
    padding: Any = 0 if s.padding == "valid" else s.padding
    pads = None
    c_out, groups = (s.out_channels, s.groups) if s.depth_multiplier is None else \
        (site.x[0] * s.depth_multiplier, site.x[0])  # depthwise: one group per input channel
    if s.padding == "causal":  # Keras: dilation * (kernel - 1) zeros before the input
        padding, pads = 0, [(d[0] * (k[0] - 1), 0)]
    elif s.padding == "same":  # numbers, not torch's "same" (refused beyond stride 1; fvcore counts it as 0)
        split = [same_padding(n, k[a], st[a], d[a]) for a, n in enumerate(site.x[1:])]
        if all(total == 2 * left for left, total in split):
            padding = tuple(left for left, _ in split)
        else:  # the odd position goes after: pad explicitly
            padding, pads = 0, [(left, total - left) for left, total in split]
    module = site.module(call(f"nn.Conv{s.ndim}d", site.x[0], c_out, f"kernel_size={lit(s.kernel_size)}", *kw(
        ("stride", s.stride, 1), ("padding", padding, 0), ("dilation", s.dilation, 1), ("groups", groups, 1),
        ("bias", s.bias, True), ("padding_mode", s.padding_mode, "zeros"))))
    if pads is None:
        return f"{module}({x})"
    mode = PAD_MODES[s.padding_mode]
    return f"{module}({f_pad(x, pads, *([f'mode={lit(mode)}'] if mode != 'constant' else []))})"


@torch_code("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
def conv_transpose(site: Site, args: list[str]) -> str:
    s = site.spec
    if s.padding_mode != "zeros":
        raise SpecError(f"padding_mode={s.padding_mode!r} cannot be exported: torch's ConvTranspose pads only "
                        "with zeros", hint="remove padding_mode")
    axes = torch_transpose(s, site.x)  # Keras' valid/same: torch's padding where it computes the same
    padding, output_padding = tuple(a[0] for a in axes), tuple(a[1] for a in axes)
    module = site.module(call(f"nn.ConvTranspose{s.ndim}d", site.x[0], s.out_channels,
                              f"kernel_size={lit(s.kernel_size)}", *kw(
        ("stride", s.stride, 1), ("padding", compact(padding), 0), ("output_padding", compact(output_padding), 0),
        ("groups", s.groups, 1), ("bias", s.bias, True), ("dilation", s.dilation, 1))))
    out = f"{module}({args[0]})"
    if all(cut is None for *_, cut in axes):
        return out
    # otherwise Keras' window of torch's full output: cut, or extended after it (an output_padding torch refuses)
    extend = [(0, 0) if cut is None else (0, max(cut[0] + cut[1] - full, 0)) for _, _, full, cut in axes]
    if any(after for _, after in extend):
        if s.bias:  # Keras adds the bias there too: they are outputs of zero inputs
            bias = f"{module}.bias.view(-1{', 1' * s.ndim})"
            out = f"({f_pad(f'{out} - {bias}', extend)} + {bias})"
        else:
            out = f_pad(out, extend)
    return f"{out}[:, :, {', '.join(':' if cut is None else f'{cut[0]}:{cut[0] + cut[1]}' for *_, cut in axes)}]"


@torch_code("linear")
def linear(site: Site, args: list[str]) -> str:
    s = site.spec
    module = site.module(call("nn.Linear", site.x[-1], s.out_features, *kw(("bias", s.bias, True))))
    if s.tied_to:
        tie(site, (s.out_features, site.x[-1]))
    return f"{module}({args[0]})"


# ---- pooling ----

AVG_POOL_SAME = '''
def avg_pool_same(x: torch.Tensor, kernel_size: tuple[int, ...], stride: tuple[int, ...], pads: tuple[int, ...],
                  divisor: int | None = None) -> torch.Tensor:
    """Average pooling with Keras' 'same' padding (F.pad order): padded positions are left out of each average,
    or the window sums are divided by `divisor`."""
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[x.dim() - 3]
    mean = pool(F.pad(x, pads), kernel_size, stride)
    if divisor is not None:
        return mean * (math.prod(kernel_size) / divisor)
    return mean / pool(F.pad(torch.ones_like(x[:1, :1]), pads), kernel_size, stride)
'''
define("avg_pool_same", AVG_POOL_SAME)


@torch_code("maxpool1d", "maxpool2d", "maxpool3d", "avgpool1d", "avgpool2d", "avgpool3d")
def pool(site: Site, args: list[str]) -> str:
    """nn.MaxPoolNd / nn.AvgPoolNd modules, as torchvision writes them (the counters that hook modules see them), or
    F.max_poolNd / F.avg_poolNd with ``call: function``."""
    s, x = site.spec, args[0]
    nd, is_max = s.ndim, s.type.startswith("max")

    def pooled(dims: int, inp: str, *options: str) -> str:  # the module, or the function, applied to inp
        if s.call == "function":
            return call(f"F.{'max' if is_max else 'avg'}_pool{dims}d", inp, *options)
        module = site.module(call(f"nn.{'Max' if is_max else 'Avg'}Pool{dims}d", *options))
        return f"{module}({inp})"

    k, st, d = axes(site, (s.kernel_size, "kernel_size"), (s.kernel_size if s.stride is None else s.stride, "stride"),
                    (s.dilation if is_max else 1, "dilation"))
    if s.padding == "same":  # Keras: output ceil(n / stride); padded positions take no part
        pads = [(left, total - left) for left, total in
                (same_padding(n, k[a], st[a], d[a]) for a, n in enumerate(site.x[1:]))]
        if is_max:
            padded = f_pad(x, pads, "value=-math.inf") if any(n for pair in pads for n in pair) else x
            return pooled(nd, padded, lit(s.kernel_size), *kw(("stride", s.stride, None),
                                                                    ("dilation", s.dilation, 1)))
        # Keras' average over the unpadded positions has no torch module: a functional helper
        flat = tuple(n for pair in reversed(pads) for n in pair)
        return call(site.helper("avg_pool_same"), x, lit(k), lit(st), lit(flat),
                    *kw(("divisor", s.divisor_override, None)))
    padding = 0 if s.padding == "valid" else s.padding
    if is_max:
        return pooled(nd, x, lit(s.kernel_size), *kw(
            ("stride", s.stride, None), ("padding", padding, 0), ("dilation", s.dilation, 1),
            ("ceil_mode", s.ceil_mode, False)))
    options = kw(("padding", padding, 0), ("ceil_mode", s.ceil_mode, False),
                 ("count_include_pad", s.count_include_pad, True))
    if nd == 1 and s.divisor_override is not None:  # 1-D pooling has no divisor_override: pool a 1 x n map
        p = per_axis(padding, 1, "padding")[0]
        out = pooled(2, f"{x}.unsqueeze(-2)", lit((1, k[0])), f"stride={lit((1, st[0]))}", f"padding={lit((0, p))}",
                     *kw(("ceil_mode", s.ceil_mode, False)), f"divisor_override={s.divisor_override}")
        return f"{out}.squeeze(-2)"
    return pooled(nd, x, lit(s.kernel_size), *kw(("stride", s.stride, None)), *options,
                  *kw(("divisor_override", s.divisor_override, None)))


@torch_code("adaptive_avgpool1d", "adaptive_avgpool2d", "adaptive_avgpool3d",
            "adaptive_maxpool1d", "adaptive_maxpool2d", "adaptive_maxpool3d")
def adaptive_pool(site: Site, args: list[str]) -> str:
    kind = "max" if "max" in site.spec.type else "avg"
    size = lit(compact(tuple(site.output[1:])))
    if site.spec.call == "function":
        return call(f"F.adaptive_{kind}_pool{site.spec.ndim}d", args[0], size)
    module = site.module(call(f"nn.Adaptive{kind.capitalize()}Pool{site.spec.ndim}d", size))
    return f"{module}({args[0]})"


@torch_code("global_avgpool", "global_maxpool")
def global_pool(site: Site, args: list[str]) -> str:
    """torchvision's ResNet head: nn.AdaptiveAvgPoolNd(1), then torch.flatten(x, 1) unless keepdims (max pooling
    likewise, with nn.AdaptiveMaxPoolNd); F.adaptive_avg_poolNd(x, 1) with ``call: function``; a reduction over the
    spatial axes with ``call: reduction`` (x.mean([2, 3]), which torch has beyond 3 spatial axes too)."""
    s, nd = site.spec, len(site.x) - 1
    kind = "avg" if s.type == "global_avgpool" else "max"
    if s.call == "reduction":
        dims = list(range(2, len(site.x) + 1))  # every spatial axis, batch and channels first
        return f"{args[0]}.{'mean' if kind == 'avg' else 'amax'}({dims}{', keepdim=True' if s.keepdims else ''})"
    if not 1 <= nd <= 3:
        raise SpecError(f"torch has no adaptive pooling over {nd} spatial axes, module or function",
                        hint="call: reduction writes it as a reduction over the spatial axes (x.mean)")
    if s.call == "function":
        pooled = call(f"F.adaptive_{kind}_pool{nd}d", args[0], 1)
    else:
        pooled = site.module(f"nn.Adaptive{kind.capitalize()}Pool{nd}d(1)") + f"({args[0]})"
    return pooled if s.keepdims else f"torch.flatten({pooled}, 1)"



STD_CONV = '''
class StdConv2d(nn.Conv2d):
    """A convolution with weight standardization, as timm's StdConv2d (BiT), or with a learnable gain per output
    channel, as timm's ScaledStdConv2d (NFNet): F.batch_norm standardises each filter in forward."""

    def __init__(self, *args, gain: bool = False, gamma: float = 1.0, eps: float = 1e-6, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.eps = eps
        self.scale = gamma * self.weight[0].numel() ** -0.5 if gain else None
        self.gain = nn.Parameter(torch.ones(self.out_channels, 1, 1, 1)) if gain else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                              weight=None if self.gain is None else (self.gain * self.scale).view(-1),
                              training=True, momentum=0.0, eps=self.eps).reshape_as(self.weight)
        return self._conv_forward(x, weight, self.bias)
'''
define("StdConv2d", STD_CONV)


@torch_code("std_conv2d")
def std_conv(site: Site, args: list[str]) -> str:
    """The convolution's translation, built as StdConv2d (a subclass of nn.Conv2d) with its options."""
    s = site.spec
    out = conv(site, args)
    line = site.writer.init[-1]
    options = kw(("gain", s.gain, False), ("gamma", s.gamma, 1.0), ("eps", s.eps, 1e-6))
    site.writer.init[-1] = line.replace("nn.Conv2d(", f"{site.helper('StdConv2d')}(", 1).removesuffix(")") + \
        "".join(f", {o}" for o in options) + ")"
    return out
