"""PyTorch translation of the state-space layer ``mamba``: the mixer written out as the reference recurrence
(Hugging Face's MambaMixer slow path, mamba_ssm's selective_scan_ref), with nn.Linear projections, an nn.Conv1d
and torch.matmul for the per-token readout, so that every counter sees the ops the layer's figures name."""
from __future__ import annotations

from ..layers.ssm import inner
from .torch_base import Site, call, define, kw, torch_code

MAMBA = '''
class Mamba(nn.Module):
    """A Mamba mixer on [B, T, d_model]: in_proj to x and the gate z; a causal depthwise conv1d (d_conv - 1 zeros
    before, so exactly T outputs) and silu; x_proj to dt, B and C; dt = softplus(dt_proj(dt)); the selective scan
    h = exp(A dt) h + dt B x, y = h C (torch.matmul, one token at a time); y = (y + D x) silu(z); out_proj."""

    def __init__(self, d_model: int, d_inner: int, d_state: int = 16, d_conv: int = 4, dt_rank: int = 1,
                 conv_bias: bool = True, bias: bool = False) -> None:
        super().__init__()
        self.d_state, self.d_conv, self.dt_rank = d_state, d_conv, dt_rank
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=bias)
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, bias=conv_bias)
        self.x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, d_inner, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, z = self.in_proj(x).chunk(2, dim=-1)  # [B, T, E] each
        u = self.conv1d(F.pad(u.transpose(1, 2), (self.d_conv - 1, 0))).transpose(1, 2)
        u = F.silu(u)
        dt, b, c = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(self.dt_proj(dt))  # [B, T, E]
        a = -torch.exp(self.A_log)  # [E, N], once per call
        h = u.new_zeros(u.shape[0], u.shape[2], self.d_state)  # [B, E, N]
        ys = []
        for t in range(u.shape[1]):
            step = dt[:, t, :, None]  # [B, E, 1]
            h = torch.exp(a * step) * h + (step * b[:, t, None, :]) * u[:, t, :, None]
            ys.append(torch.matmul(h, c[:, t, :, None])[..., 0])  # [B, E, N] @ [B, N, 1]
        y = torch.stack(ys, dim=1)  # [B, T, E]
        y = (y + u * self.D) * F.silu(z)
        return self.out_proj(y)
'''
define("Mamba", MAMBA)


@torch_code("mamba")
def mamba(site: Site, args: list[str]) -> str:
    s, d = site.spec, site.x[-1]
    e, n, r, k = inner(s, d)
    module = site.module(call(site.helper("Mamba"), d, e, *kw(("d_state", n, 16), ("d_conv", k, 4)),
                              f"dt_rank={r}", *kw(("conv_bias", s.conv_bias, True), ("bias", s.bias, False))))
    return f"{module}({args[0]})"
