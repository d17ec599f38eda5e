"""The original paper's theory, checked numerically on 1-D densities known exactly.

With p_data = N(4, 0.5^2) and an affine generator G(z) = b + a z, z ~ N(0, 1), the
generator's density p_g = N(b, a^2) is known in closed form, so:

  Prop. 1   for fixed G the best discriminator is D*_G(x) = p_data(x) / (p_data(x) + p_g(x));
  Thm. 1    C(G) = V(G, D*_G) = -log 4 + 2 JSD(p_data || p_g), minimised (= -log 4) iff p_g = p_data;
  Alg. 1    training the game drives p_g -> p_data (JSD -> 0) and D -> 1/2.

`check_optimal_discriminator` trains D alone against a fixed G and measures the gap
to D*; `check_value_identity` integrates V(G, D*) and the JSD independently;
`train_game` plays Algorithm 1 and records snapshots for the paper's Figure 1;
`run_all` runs every check of `ganforge theory`, the divergence estimates included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge import objectives
from ganforge.theory.divergences import divergence_checks
from ganforge.theory.gaussians import Gaussian, density, integrate_over_span, jsd_gaussians, sample

DATA: Gaussian = (4.0, 0.5)  # p_data = N(4, 0.5^2)
GRID = np.linspace(-2.0, 8.0, 2001)


def optimal_discriminator(x: np.ndarray, p_data, p_g) -> np.ndarray:
    """D*_G(x) = p_data(x) / (p_data(x) + p_g(x))  (Proposition 1)."""
    pd, pg = p_data(x), p_g(x)
    return pd / (pd + pg)


def value_at_optimum(p: Gaussian, q: Gaussian) -> float:
    """V(G, D*) = E_{p_data}[log D*(x)] + E_{p_g}[log(1 - D*(x))], by quadrature."""

    def integrand(x: float) -> float:
        pd, pg = density(x, p), density(x, q)
        if pd + pg == 0:
            return 0.0
        d = pd / (pd + pg)
        out = 0.0
        if pd > 0:
            out += pd * math.log(d)
        if pg > 0:
            out += pg * math.log1p(-d)
        return out

    return integrate_over_span(integrand, p, q)


def check_value_identity(p: Gaussian = DATA, q: Gaussian = (3.0, 1.0)) -> dict[str, float]:
    """Theorem 1: |V(G, D*) - (-log 4 + 2 JSD)|, the two sides integrated independently."""
    v = value_at_optimum(p, q)
    jsd = jsd_gaussians(p, q)
    return {"value_at_optimum": v, "jsd": jsd, "minus_log4_plus_2jsd": -math.log(4) + 2 * jsd,
            "value_identity_abs_error": abs(v - (-math.log(4) + 2 * jsd))}


class Discriminator1D(nn.Module):
    """D: R -> logit, an MLP; inputs are standardised around the data so training is easy."""

    def __init__(self, width: int = 64, depth: int = 2, center: float = 3.0, scale: float = 2.0):
        super().__init__()
        self.center, self.scale = center, scale
        dims = [1] + [width] * depth
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x.reshape(-1, 1) - self.center) / self.scale).squeeze(1)


class AffineGenerator(nn.Module):
    """G(z) = b + a z with z ~ N(0, 1), so p_g = N(b, a^2) exactly."""

    def __init__(self, b: float = 0.0, a: float = 1.0):
        super().__init__()
        self.b = nn.Parameter(torch.tensor(float(b)))
        self.log_a = nn.Parameter(torch.tensor(math.log(a)))

    @property
    def params(self) -> tuple[float, float]:
        return float(self.b.detach()), float(self.log_a.detach().exp())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.b + self.log_a.exp() * z


def check_optimal_discriminator(g_params=(3.0, 1.0), steps: int = 3000, batch: int = 4096,
                                seed: int = 0, quadrature: bool = False) -> dict[str, float]:
    """Prop. 1: train D alone (max_D V) against fixed G; gap to D* where the densities matter.

    By default D sees minibatches of m real and m generated samples, as in Algorithm 1.
    With `quadrature`, D instead maximises the population objective
    V(D) = integral p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx on a fine grid, which removes
    sampling noise (quick, for tests). The gap is max |D(x) - D*(x)| over grid points where
    p_data(x) + p_g(x) >= 0.01 (outside, neither player samples, so D is unconstrained there).
    """
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    gen = AffineGenerator(*g_params).requires_grad_(False)
    d = Discriminator1D()
    opt = torch.optim.Adam(d.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    obj = objectives.get_objective("minimax")
    grid = torch.tensor(GRID, dtype=torch.float32)
    pd, pg = density(GRID, DATA), density(GRID, g_params)
    dx = float(GRID[1] - GRID[0])
    w_data, w_g = torch.tensor(pd * dx, dtype=torch.float32), torch.tensor(pg * dx, dtype=torch.float32)
    for _ in range(steps):
        if quadrature:
            logits = d(grid)  # -V(D) = -sum_x [p_data log sigmoid(l) + p_g log(1 - sigmoid(l))] dx
            loss = (w_data * F.softplus(-logits)).sum() + (w_g * F.softplus(logits)).sum()
        else:
            real, fake = sample(DATA, batch, g), gen(torch.randn(batch, generator=g))
            loss = obj.d_loss(d(real), d(fake))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    mask = pd + pg >= 0.01
    with torch.no_grad():
        d_grid = torch.sigmoid(d(grid)).numpy()
    gap = np.abs(d_grid - pd / (pd + pg))[mask]
    return {"d_star_max_abs_error": float(gap.max()), "d_star_mean_abs_error": float(gap.mean()),
            "grid_points": int(mask.sum()), "method": "quadrature" if quadrature else "minibatch",
            "steps": steps, "batch": 0 if quadrature else batch}


@dataclass
class GameSnapshot:
    step: int
    g_params: tuple[float, float]
    d_on_grid: np.ndarray
    jsd: float
    d_mean: float  # E_{p_data}[D(x)], 1/2 at the equilibrium


@dataclass
class GameResult:
    snapshots: list[GameSnapshot] = field(default_factory=list)

    @property
    def final(self) -> GameSnapshot:
        return self.snapshots[-1]


def _d_mean(d: nn.Module, gen: torch.Generator) -> float:
    """E_{x ~ p_data}[D(x)]: near 1 while D tells data apart, 1/2 at the equilibrium."""
    with torch.no_grad():
        return float(torch.sigmoid(d(sample(DATA, 20000, gen))).mean())


def train_game(steps: int = 1000, k: int = 1, batch: int = 512, seed: int = 0,
               loss: str = "ns", snapshot_steps: tuple[int, ...] = (0, 100, 200),
               lr_g: float = 2e-2, lr_d: float = 2e-3) -> GameResult:
    """Algorithm 1 on the 1-D toy: k D steps then one G step per iteration.

    G starts at N(0, 1), far from p_data = N(4, 0.5^2). Snapshots record G's density,
    D on the grid, the JSD and the mean of D.
    """
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    gen, d = AffineGenerator(0.0, 1.0), Discriminator1D()
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr_g, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr_d, betas=(0.5, 0.999))
    decay_g = torch.optim.lr_scheduler.CosineAnnealingLR(opt_g, steps, eta_min=1e-4)
    decay_d = torch.optim.lr_scheduler.CosineAnnealingLR(opt_d, steps, eta_min=1e-4)
    obj = objectives.get_objective(loss)
    result = GameResult()

    def snap(step: int) -> None:
        with torch.no_grad():
            d_grid = torch.sigmoid(d(torch.tensor(GRID, dtype=torch.float32))).numpy()
        params = gen.params
        result.snapshots.append(GameSnapshot(
            step, params, d_grid, jsd_gaussians(DATA, params),
            _d_mean(d, torch.Generator().manual_seed(1))))

    for step in range(steps):
        if step in snapshot_steps:
            snap(step)
        for _ in range(k):
            real = sample(DATA, batch, g)
            fake = gen(torch.randn(batch, generator=g)).detach()
            loss_d = obj.d_loss(d(real), d(fake))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        loss_g = obj.g_loss(d(gen(torch.randn(batch, generator=g))))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        decay_g.step()
        decay_d.step()
    snap(steps)
    return result


def draw_figure1(result: GameResult, path: Path | str) -> None:
    """The paper's Figure 1: data (black dots), p_g (green), D (blue dashed), over training."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shots = result.snapshots[-4:]
    fig, axes = plt.subplots(1, len(shots), figsize=(3.2 * len(shots), 2.8), dpi=110, sharey=True)
    rng = np.random.default_rng(0)
    data_x = rng.normal(*DATA, 60)
    pd = density(GRID, DATA)
    for ax, s, letter in zip(np.atleast_1d(axes), shots, "abcd"):
        pg = density(GRID, s.g_params)
        ax.plot(GRID, pd / pd.max(), color="black", lw=0.8, alpha=0.5, label="p_data")
        ax.scatter(data_x, np.zeros_like(data_x) + 0.02, s=6, color="black")
        ax.plot(GRID, pg / pd.max(), color="green", lw=1.5, label="p_g")
        ax.plot(GRID, s.d_on_grid, "b--", lw=1.5, label="D(x)")
        ax.axhline(0.5, color="gray", lw=0.5, ls=":")
        ax.set_title(f"({letter}) step {s.step}\nJSD={s.jsd:.3f}  E[D]={s.d_mean:.2f}", fontsize=8)
        ax.set_xlim(-2, 8)
        ax.set_ylim(0, 1.3)
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_all(out_dir: Path | str | None = None, quick: bool = False,
            seed: int = 0, progress: bool = False) -> dict[str, object]:
    """Every check of `ganforge theory`; writes figure1.png under `out_dir` when given.

    `quick` trains D* on the population objective (no sampling noise, seconds) and skips
    the f-divergence and W1 checks. `progress`: a bar on stderr, one tick per check (the
    whole takes minutes).
    """
    from tqdm import tqdm

    from ganforge.objectives import F_DIVERGENCES

    checks = 3 + (out_dir is not None) + (0 if quick else len(F_DIVERGENCES) + 1)
    bar = tqdm(total=checks, unit="check", disable=not progress)
    done = [0]

    def starting(name: str) -> None:
        """Tick off the previous check and name the next one."""
        bar.update(done[0])
        done[0] = 1
        bar.set_description(name)

    report: dict[str, object] = {}
    starting("optimal D (Prop. 1)")
    if quick:
        report.update(check_optimal_discriminator(steps=1200, quadrature=True, seed=seed))
    else:
        report.update(check_optimal_discriminator(seed=seed))
    starting("value identity (Thm. 1)")
    identity = check_value_identity()
    report["value_identity_abs_error"] = identity["value_identity_abs_error"]
    report["value_at_optimum"] = identity["value_at_optimum"]
    report["jsd_at_check"] = identity["jsd"]
    starting("Algorithm 1 on the toy")
    game = train_game(seed=seed)
    report["initial_jsd"] = game.snapshots[0].jsd
    report["final_jsd"] = game.final.jsd
    report["final_d_mean"] = game.final.d_mean
    report["final_g"] = {"mean": game.final.g_params[0], "std": game.final.g_params[1]}
    if out_dir is not None:
        starting("Figure 1")
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        draw_figure1(game, Path(out_dir) / "figure1.png")
        report["figure1"] = str(Path(out_dir) / "figure1.png")
    if not quick:
        report["divergences"] = divergence_checks(
            seed=seed, starting=lambda name: starting(f"{name} estimate"))
    bar.update(done[0])
    bar.close()
    return report
