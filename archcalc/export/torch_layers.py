"""PyTorch translations of the general layer types: convolutions, linear, pooling, normalisation, activations,
dropout, data movement, merges and products (sequence layers are in ``torch_sequence``)."""
from __future__ import annotations

from typing import Any

from ..core.errors import SpecError
from ..layers.base import per_axis, torch_dim
from ..layers.conv import same_padding, torch_transpose
from ..layers.matmul import ELLIPSIS, parse_equation
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


# ---- normalisation ----

@torch_code("batchnorm", "batchnorm1d", "batchnorm2d", "batchnorm3d")
def batchnorm(site: Site, args: list[str]) -> str:
    s, x = site.spec, args[0]
    rank = len(site.x)
    nd = s.ndim if s.type != "batchnorm" else {3: 2, 4: 3}.get(rank, 1)  # plain batchnorm: any rank
    module = site.module(call(f"nn.BatchNorm{nd}d", site.x[0], *kw(
        ("eps", s.eps, 1e-5), ("momentum", s.momentum, 0.1), ("affine", s.affine, True),
        ("track_running_stats", s.track_running_stats, True))))
    if s.track_running_stats and not s.num_batches_tracked:
        site.init(f'{module}.register_buffer("num_batches_tracked", None)  # no batch counter, as in Keras')
    if rank > 4:  # more spatial axes than BatchNorm3d takes: normalise them flattened
        return f"{module}({x}.flatten(2)).view_as({x})"
    return f"{module}({x})"


@torch_code("instancenorm1d", "instancenorm2d", "instancenorm3d")
def instancenorm(site: Site, args: list[str]) -> str:
    s = site.spec
    return site.module(call(f"nn.InstanceNorm{s.ndim}d", site.x[0], *kw(
        ("eps", s.eps, 1e-5), ("momentum", s.momentum, 0.1), ("affine", s.affine, False),
        ("track_running_stats", s.track_running_stats, False)))) + f"({args[0]})"


FUNCTIONAL_LAYER_NORM = '''
class FunctionalLayerNorm(nn.LayerNorm):
    """nn.LayerNorm's parameters, normalised by F.layer_norm in a forward of its own, as torchvision's LayerNorm2d:
    counters that hook nn.LayerNorm by its exact type do not see it; it is still a leaf module with a weight and a
    bias."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
'''
define("FunctionalLayerNorm", FUNCTIONAL_LAYER_NORM)


@torch_code("layernorm")
def layernorm(site: Site, args: list[str]) -> str:
    s = site.spec
    shape = site.x[-1] if s.normalized_shape is None else s.normalized_shape
    cls = "nn.LayerNorm" if s.call == "module" else site.helper("FunctionalLayerNorm")
    return site.module(call(cls, lit(shape), *kw(
        ("eps", s.eps, 1e-5), ("elementwise_affine", s.elementwise_affine, True), ("bias", s.bias, True)))) + \
        f"({args[0]})"


@torch_code("rmsnorm")
def rmsnorm(site: Site, args: list[str]) -> str:
    s = site.spec
    return site.module(call("nn.RMSNorm", lit(s.normalized_shape), *kw(
        ("eps", s.eps, None), ("elementwise_affine", s.elementwise_affine, True)))) + f"({args[0]})"


@torch_code("groupnorm")
def groupnorm(site: Site, args: list[str]) -> str:
    s = site.spec
    return site.module(call("nn.GroupNorm", s.num_groups, site.x[0], *kw(
        ("eps", s.eps, 1e-5), ("affine", s.affine, True)))) + f"({args[0]})"


# ---- activations, dropout ----

ACTIVATIONS = {"relu": "nn.ReLU", "relu6": "nn.ReLU6", "sigmoid": "nn.Sigmoid", "tanh": "nn.Tanh", "silu": "nn.SiLU",
               "hardswish": "nn.Hardswish", "hardsigmoid": "nn.Hardsigmoid", "leaky_relu": "nn.LeakyReLU",
               "elu": "nn.ELU", "gelu": "nn.GELU", "softmax": "nn.Softmax", "hardtanh": "nn.Hardtanh"}


FUNCTIONS = {"relu": "F.relu", "relu6": "F.relu6", "sigmoid": "torch.sigmoid", "tanh": "torch.tanh", "silu": "F.silu",
             "hardswish": "F.hardswish", "hardsigmoid": "F.hardsigmoid", "leaky_relu": "F.leaky_relu", "elu": "F.elu",
             "gelu": "F.gelu", "softmax": "F.softmax", "hardtanh": "F.hardtanh"}


BOUND_ACTIVATION = '''
class BoundActivation(nn.Module):
    """A torch function taken when the module is built and called in forward, as Hugging Face's GELUActivation holds
    F.gelu: a counter that patches torch's functions for its run (ptflops) does not see it."""

    def __init__(self, function, **options) -> None:
        super().__init__()
        self.function, self.options = function, options

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x, **self.options)
'''
define("BoundActivation", BOUND_ACTIVATION)


@torch_code(*ACTIVATIONS)
def activation(site: Site, args: list[str]) -> str:
    """An nn module per activation, as torchvision writes them (module hooks see them; the form changes counts), the
    torch function with ``call: function``, or a module holding that function with ``call: bound``."""
    s = site.spec
    options = {"leaky_relu": lambda: kw(("negative_slope", s.negative_slope, 0.01)),
               "elu": lambda: kw(("alpha", s.alpha, 1.0)),
               "hardtanh": lambda: kw(("min_val", s.min_val, -1.0), ("max_val", s.max_val, 1.0)),
               "gelu": lambda: kw(("approximate", s.approximate, "none")),
               "softmax": lambda: [f"dim={s.dim}"]}.get(s.type, list)()
    if s.call == "function":
        return call(FUNCTIONS[s.type], args[0], *options)
    if s.call == "bound":
        return site.module(call(site.helper("BoundActivation"), FUNCTIONS[s.type], *options)) + f"({args[0]})"
    return site.module(call(ACTIVATIONS[s.type], *options)) + f"({args[0]})"


STOCHASTIC_DEPTH = '''
def stochastic_depth(x: torch.Tensor, p: float, mode: str, training: bool) -> torch.Tensor:
    """torchvision's stochastic depth: in training, zero whole samples ("row") or the whole batch ("batch") with
    probability p and rescale the rest; the identity at inference."""
    if not training or p == 0.0:
        return x
    shape = [x.shape[0]] + [1] * (x.dim() - 1) if mode == "row" else [1] * x.dim()
    keep = x.new_empty(shape).bernoulli_(1.0 - p)
    return x * keep / (1.0 - p) if p < 1.0 else x * keep
'''
define("stochastic_depth", STOCHASTIC_DEPTH)

STOCHASTIC_DEPTH_MODULE = '''
class StochasticDepth(nn.Module):
    """stochastic_depth() as a module, as torchvision's StochasticDepth."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return stochastic_depth(x, self.p, self.mode, self.training)
'''
define("StochasticDepth", STOCHASTIC_DEPTH_MODULE, "stochastic_depth")


@torch_code("dropout", "dropout1d", "dropout2d", "dropout3d", "stochastic_depth")
def dropout(site: Site, args: list[str]) -> str:
    s = site.spec
    if s.type == "stochastic_depth":
        if s.call == "module":
            return site.module(call(site.helper("StochasticDepth"), lit(s.p), lit(s.mode or "row"))) + f"({args[0]})"
        return call(site.helper("stochastic_depth"), args[0], lit(s.p), lit(s.mode or "row"), "self.training")
    if s.call == "function":
        return call(f"F.{s.type}", args[0], f"p={lit(float(s.p))}", "training=self.training")  # F.dropout2d, ...
    name = {"dropout": "Dropout", "dropout1d": "Dropout1d", "dropout2d": "Dropout2d", "dropout3d": "Dropout3d"}[s.type]
    return site.module(call(f"nn.{name}", f"p={lit(float(s.p))}")) + f"({args[0]})"


@torch_code("identity")
def identity(site: Site, args: list[str]) -> str:
    return args[0]


# ---- moving data ----

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


# ---- merges and products ----

def batched(site: Site, args: list[str]) -> list[str]:
    """Operands with fewer per-sample dimensions gain size-1 ones after the batch: torch then broadcasts them as
    archcalc does per sample (aligned on the right, the batch apart)."""
    rank = max(len(s) for s in site.inputs)
    return [a if len(s) == rank else f"{a}[:, {', '.join(['None'] * (rank - len(s)))}]"
            for a, s in zip(args, site.inputs)]


@torch_code("add", "mul")
def elementwise(site: Site, args: list[str]) -> str:
    """Python operators, as torchvision writes residual adds and squeeze-excitation gating."""
    return (" + " if site.spec.type == "add" else " * ").join(batched(site, args))


@torch_code("concat")
def concat(site: Site, args: list[str]) -> str:
    return f"torch.cat([{', '.join(args)}], dim={site.spec.dim})"


@torch_code("matmul")
def matmul(site: Site, args: list[str]) -> str:
    """torch.matmul per sample: a 1-D operand becomes a row (a) or a column (b), dropped after; leading
    dimensions broadcast as archcalc does, after the batch."""
    (a, b), (ra, rb) = args, (len(s) for s in site.inputs)
    if site.spec.transpose_b:
        b = f"{b}.transpose(-2, -1)"
    a, b = (a if ra > 1 else f"{a}.unsqueeze(-2)"), (b if rb > 1 else f"{b}.unsqueeze(-1)")
    wa, wb = max(ra, 2), max(rb, 2)
    a = a if wa >= wb else f"{a}[:, {', '.join(['None'] * (wb - wa))}]"
    b = b if wb >= wa else f"{b}[:, {', '.join(['None'] * (wa - wb))}]"
    out = f"{a} @ {b}" if ra > 1 and rb > 1 else f"({a} @ {b})"
    return out + (".squeeze(-2)" if ra == 1 else "") + (".squeeze(-1)" if rb == 1 else "")


@torch_code("einsum")
def einsum(site: Site, args: list[str]) -> str:
    """torch.einsum with a batch letter added to every operand and to the output (made explicit)."""
    terms, out = parse_equation(site.spec.equation)
    if out is None:  # torch's implicit output: '...', then the letters used once, in order
        used = [t for op in terms for t in op if t != ELLIPSIS]
        out = ((ELLIPSIS,) if any(ELLIPSIS in op for op in terms) else ()) + tuple(
            sorted(t for t in set(used) if used.count(t) == 1))
    letters = {t for op in (*terms, out) for t in op}
    batch = next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if c not in letters)
    equation = ",".join(batch + "".join(op) for op in terms) + "->" + batch + "".join(out)
    return call("torch.einsum", lit(equation), *args)
