"""Speed figures for archcalc: whole-process CLI time against a bare-import baseline, and in-process
analysis time of large specs. Prints figures and the targets; it asserts nothing (see the issues).

    python benchmarks/bench.py           # full run
    python benchmarks/bench.py --quick   # fewer repeats (CI)
"""
from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# Installed packages run from compiled bytecode (pip compiles it); so does archcalc here, as for a user.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd: list[str], repeats: int) -> float:
    """Median wall time of a whole process."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=ENV)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def archcalc_cmd(*args: str) -> list[str]:
    exe = shutil.which("archcalc")
    return [exe, *args] if exe else [sys.executable, "-m", "archcalc", *args]


def cli_vs_baseline(args: list[str], repeats: int, target: str = "<= 1.5x") -> None:
    """Whole-process time of an archcalc command next to ``python -c "import pydantic, yaml"``."""
    cli = archcalc_cmd(*args)
    baseline = [sys.executable, "-c", "import pydantic, yaml"]
    wall(cli, 2)  # warm the file cache
    base, run = [], []
    for _ in range(repeats):  # interleave so that machine load hits both alike
        base.append(wall(baseline, 1))
        run.append(wall(cli, 1))
    b, r = statistics.median(base), statistics.median(run)
    print(f"{'archcalc ' + ' '.join(args):<52} {r * 1000:7.1f} ms   baseline {b * 1000:6.1f} ms   "
          f"ratio {r / b:4.2f}x (min {min(run) / min(base):4.2f}x)   target {target}")


def sequential_spec(n: int) -> dict:
    """n layers alternating a 3x3 'same' conv and a ReLU on a 16x32x32 input."""
    layers = []
    for i in range(n):
        layers.append({"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1} if i % 2 == 0
                      else {"type": "relu"})
    return {"name": f"seq{n}", "input": [16, 32, 32], "layers": layers}


def in_process(label: str, make, repeats: int, target: str) -> None:
    import archcalc
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        archcalc.analyze(make())
        times.append(time.perf_counter() - t0)
    print(f"{label:<40} {min(times) * 1000:7.1f} ms best of {repeats}   (target {target})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 5 if args.quick else 21
    import archcalc
    compileall.compile_dir(str(ROOT / "archcalc"), quiet=1)
    print(f"archcalc {archcalc.__version__}, Python {sys.version.split()[0]}, median of {repeats} runs")
    cli_vs_baseline(["specs/vgg16.yaml"], repeats)
    cli_vs_baseline(["specs/resnet50.yaml"], repeats)
    spec = sequential_spec(10_000)
    in_process("load + analyze 10,000-layer sequential spec", lambda: archcalc.load(spec), 3, "< 500 ms")
    resnet152 = archcalc.load(ROOT / "specs" / "resnet152.yaml")
    in_process("analyze ResNet-152 (loaded)", lambda: resnet152, 5, "-")
    symbolic = archcalc_cmd("specs/resnet50.yaml", "--symbolic", "H", "W")
    t = wall(symbolic, 3 if args.quick else 5)
    print(f"{'archcalc specs/resnet50.yaml --symbolic H W':<52} {t * 1000:7.1f} ms   (target < 3 s, ideally < 1.5 s)")
    sweep_grid(1000, 1000)


def sweep_grid(nh: int, nw: int) -> None:
    """Totals of VGG-16 over an nh x nw grid of (H, W), from the compiled formulas."""
    import archcalc
    from archcalc.explore import sweep
    report = archcalc.analyze(archcalc.load(ROOT / "specs" / "vgg16.yaml", symbolic=["H", "W"]))
    axes = [("H", list(range(32, 32 * nh + 1, 32))), ("W", list(range(32, 32 * nw + 1, 32)))]
    try:
        import numpy  # noqa: F401
        how = "numpy"
    except ImportError:
        how = "no numpy: pure Python"
    t0 = time.perf_counter()
    table = sweep(report, axes, ["params", "macs", "flops"])
    t = time.perf_counter() - t0
    print(f"{f'sweep {nh * nw:,} grid points, 3 totals ({how})':<52} {t * 1000:7.1f} ms   (target < 2 s with numpy)")
    assert len(table["macs"]) == nh * nw


if __name__ == "__main__":
    main()
