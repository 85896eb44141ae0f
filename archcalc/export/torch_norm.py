"""PyTorch translations of normalisation, activations, dropout (stochastic depth too) and identity."""
from __future__ import annotations

from ..layers.base import torch_dim
from .torch_base import Site, call, define, kw, lit, torch_code

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



# ---- frozen batch norm (torchvision's detection backbones) ----

FROZEN_BATCH_NORM = '''
class FrozenBatchNorm2d(nn.Module):
    """Batch norm whose statistics and affine transform are buffers, as torchvision.ops.FrozenBatchNorm2d: folded per
    channel into one scale and one shift."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        for name, fill in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
            self.register_buffer(name, torch.full((num_features,), fill))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = (self.weight * (self.running_var + self.eps).rsqrt()).reshape(1, -1, 1, 1)
        shift = self.bias.reshape(1, -1, 1, 1) - self.running_mean.reshape(1, -1, 1, 1) * scale
        return x * scale + shift
'''
define("FrozenBatchNorm2d", FROZEN_BATCH_NORM)


@torch_code("frozen_batchnorm2d")
def frozen_batchnorm2d(site: Site, args: list[str]) -> str:
    s = site.spec
    return site.module(call(site.helper("FrozenBatchNorm2d"), site.x[0], *kw(("eps", s.eps, 1e-5)))) + f"({args[0]})"


# ---- Global Response Normalization (ConvNeXt V2) and smooth activations ----

GLOBAL_RESPONSE_NORM = '''
class GlobalResponseNorm(nn.Module):
    """Global Response Normalization (Woo et al. 2023), as timm's GlobalResponseNorm, with the channels at dimension
    dim: the L2 norm of each channel over the other dimensions, divided by its mean over the channels, scales x."""

    def __init__(self, channels: int, dim: int = 1, eps: float = 1e-6) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps
        self.weight = nn.Parameter(torch.zeros(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dim = self.dim % x.dim()
        shape = [-1 if d == dim else 1 for d in range(x.dim())]
        g = x.norm(p=2, dim=tuple(d for d in range(1, x.dim()) if d != dim), keepdim=True)
        n = g / (g.mean(dim=dim, keepdim=True) + self.eps)
        return x + torch.addcmul(self.bias.view(shape), self.weight.view(shape), x * n)
'''
define("GlobalResponseNorm", GLOBAL_RESPONSE_NORM)


@torch_code("grn")
def grn(site: Site, args: list[str]) -> str:
    s = site.spec
    channels = site.x[torch_dim(s.dim, site.x)]
    options = kw(("dim", s.dim, 1), ("eps", s.eps, 1e-6))
    return site.module(call(site.helper("GlobalResponseNorm"), channels, *options)) + f"({args[0]})"


QUICK_GELU = '''
class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x), CLIP's approximation of GELU (Hugging Face's QuickGELUActivation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)
'''
define("QuickGELU", QUICK_GELU)


@torch_code("quick_gelu", "mish", "softplus")
def smooth_activation(site: Site, args: list[str]) -> str:
    s, x = site.spec, args[0]
    options = kw(("beta", s.beta, 1.0), ("threshold", s.threshold, 20.0)) if s.type == "softplus" else []
    if s.call == "function":
        if s.type == "quick_gelu":
            return f"({x} * torch.sigmoid(1.702 * {x}))"
        return call(f"F.{s.type}", x, *options)
    if s.type == "quick_gelu":
        return site.module(call(site.helper("QuickGELU"))) + f"({x})"
    return site.module(call({"mish": "nn.Mish", "softplus": "nn.Softplus"}[s.type], *options)) + f"({x})"
