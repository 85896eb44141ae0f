"""PyTorch translations of the vision attention vocabulary: roll (torch.roll), window_attention (a module computing
torchvision's shifted window attention, relative position bias included), LeViT's attention_bias and
token_batchnorm."""
from __future__ import annotations

from ..layers.base import per_axis
from ..layers.roll import rolled
from .torch_base import Site, call, compact, define, kw, lit, torch_code


@torch_code("roll")
def roll(site: Site, args: list[str]) -> str:
    shifted = rolled(site.spec, site.x)
    return call("torch.roll", args[0], f"shifts={lit(tuple(shifted.values()))}",
                f"dims={lit(tuple(d + 1 for d in shifted))}")


WINDOW_ATTENTION = '''
class WindowAttention(nn.Module):
    """(Shifted) window self-attention on [B, H, W, C]: pad to whole windows, roll by -shift, cut windows of
    Mh x Mw tokens, fused QKV, scores + relative position bias (+ a mask of -100 between the regions a shift
    wraps together), softmax, AV, output projection, then undo the windows, the roll and the padding. A shift is
    dropped on an axis the window covers."""

    def __init__(self, dim: int, num_heads: int, window_size: int | tuple[int, int],
                 shift_size: int | tuple[int, int] = 0, qkv_bias: bool = True, proj_bias: bool = True,
                 relative_position_bias: bool = True) -> None:
        super().__init__()
        self.heads = num_heads
        self.window, self.shift = (tuple(v) if isinstance(v, tuple) else (v, v) for v in (window_size, shift_size))
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.relative_position_bias_table = None
        if relative_position_bias:
            mh, mw = self.window
            self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * mh - 1) * (2 * mw - 1), num_heads))
            rows, cols = torch.meshgrid(torch.arange(mh), torch.arange(mw), indexing="ij")
            rows, cols = rows.flatten(), cols.flatten()  # token t of a window sits at (rows[t], cols[t])
            offset = (rows[:, None] - rows[None, :] + mh - 1) * (2 * mw - 1) + (cols[:, None] - cols[None, :] + mw - 1)
            self.register_buffer("relative_position_index", offset.flatten())  # [N * N]: query-key offset -> table row

    def _windows(self, x: torch.Tensor, mh: int, mw: int) -> torch.Tensor:
        b, hp, wp, c = x.shape
        x = x.reshape(b, hp // mh, mh, wp // mw, mw, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(b, (hp // mh) * (wp // mw), mh * mw, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        mh, mw = self.window
        x = F.pad(x, (0, 0, 0, -w % mw, 0, -h % mh))
        hp, wp = x.shape[1], x.shape[2]
        shift = [s if m < n else 0 for s, m, n in zip(self.shift, self.window, (hp, wp))]
        if any(shift):
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
        windows = self._windows(x, mh, mw)  # [B, nW, N, C]
        nw, n = windows.shape[1], windows.shape[2]
        qkv = F.linear(windows, self.qkv.weight, self.qkv.bias)  # as torchvision: the Linear modules are not called
        q, k, v = qkv.reshape(b, nw, n, 3, self.heads, c // self.heads).permute(3, 0, 1, 4, 2, 5)
        scores = (q * (c // self.heads) ** -0.5).matmul(k.transpose(-2, -1))  # [B, nW, heads, N, N]
        if self.relative_position_bias_table is not None:
            bias = self.relative_position_bias_table[self.relative_position_index]  # [N * N, heads]
            scores = scores + bias.reshape(n, n, self.heads).permute(2, 0, 1)
        if any(shift):
            region = x.new_zeros(hp, wp)
            for i, rows in enumerate((slice(0, hp - mh), slice(hp - mh, hp - shift[0]), slice(hp - shift[0], hp))):
                for j, cols in enumerate((slice(0, wp - mw), slice(wp - mw, wp - shift[1]), slice(wp - shift[1], wp))):
                    region[rows, cols] = 3 * i + j
            region = self._windows(region[None, :, :, None], mh, mw)[0, :, :, 0]  # [nW, N]
            apart = region[:, None, :] != region[:, :, None]
            scores = scores + (apart.to(scores.dtype) * -100.0)[None, :, None]
        y = F.softmax(scores, dim=-1).matmul(v).transpose(2, 3).reshape(b, nw, n, c)
        y = F.linear(y, self.proj.weight, self.proj.bias).reshape(b, hp // mh, wp // mw, mh, mw, c)
        y = y.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)  # the windows back in place
        if any(shift):
            y = torch.roll(y, shifts=(shift[0], shift[1]), dims=(1, 2))
        return y[:, :h, :w].contiguous()
'''
define("WindowAttention", WINDOW_ATTENTION)


@torch_code("window_attention")
def window_attention(site: Site, args: list[str]) -> str:
    s = site.spec
    window = per_axis(s.window_size, 2, "window_size")
    shift = per_axis(s.shift_size, 2, "shift_size")
    module = site.module(call(site.helper("WindowAttention"), site.x[-1], s.num_heads, lit(compact(window)), *kw(
        ("shift_size", shift, 0), ("qkv_bias", s.qkv_bias, True), ("proj_bias", s.proj_bias, True),
        ("relative_position_bias", s.relative_position_bias, True))))
    return f"{module}({args[0]})"


ATTENTION_BIAS = '''
class AttentionBias(nn.Module):
    """LeViT's attention biases (timm's levit.Attention, AttentionDownsample): one learned bias per head and key-grid
    offset |dy| * rw + |dx|, added to scores [..., heads, Nq, Nk]; the queries are the key grid every stride."""

    def __init__(self, heads: int, resolution: tuple[int, int], stride: int = 1,
                 scale: float | None = None) -> None:
        super().__init__()
        rh, rw = resolution
        self.scale = scale
        self.attention_biases = nn.Parameter(torch.zeros(heads, rh * rw))
        keys = torch.stack(torch.meshgrid(torch.arange(rh), torch.arange(rw), indexing="ij")).flatten(1)
        queries = torch.stack(torch.meshgrid(torch.arange(0, rh, stride), torch.arange(0, rw, stride),
                                             indexing="ij")).flatten(1)
        offset = (queries[:, :, None] - keys[:, None, :]).abs()  # [2, Nq, Nk]
        self.register_buffer("attention_bias_idxs", offset[0] * rw + offset[1])

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        scores = scores if self.scale is None else scores * self.scale
        return scores + self.attention_biases[:, self.attention_bias_idxs]
'''
define("AttentionBias", ATTENTION_BIAS)


@torch_code("attention_bias")
def attention_bias(site: Site, args: list[str]) -> str:
    s = site.spec
    resolution = per_axis(s.resolution, 2, "resolution")
    options = kw(("stride", s.stride, 1), ("scale", s.scale, None))
    module = site.module(call(site.helper("AttentionBias"), site.x[-3], lit(resolution), *options))
    return f"{module}({args[0]})"


TOKEN_BATCH_NORM = '''
class TokenBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d over the last dimension of [B, ..., C] tokens, the others flattened into its batch (timm's
    LeViT LinearNorm)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.reshape(-1, x.shape[-1])).reshape_as(x)
'''
define("TokenBatchNorm", TOKEN_BATCH_NORM)


@torch_code("token_batchnorm")
def token_batchnorm(site: Site, args: list[str]) -> str:
    s = site.spec
    module = site.module(call(site.helper("TokenBatchNorm"), site.x[-1], *kw(
        ("eps", s.eps, 1e-5), ("momentum", s.momentum, 0.1), ("affine", s.affine, True),
        ("track_running_stats", s.track_running_stats, True))))
    if s.track_running_stats and not s.num_batches_tracked:
        site.init(f'{module}.register_buffer("num_batches_tracked", None)  # no batch counter')
    return f"{module}({args[0]})"
