"""Speed figures for archcalc: whole-process CLI time against a bare-import baseline, and in-process
analysis time of large specs. Prints figures and the targets; it asserts nothing (see the issues).

    python benchmarks/bench.py           # full run
    python benchmarks/bench.py --quick   # fewer repeats (CI)
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def wall(cmd: list[str], repeats: int) -> float:
    """Median wall time of a whole process."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cli_vs_baseline(spec: str, repeats: int) -> None:
    exe = shutil.which("archcalc")
    cli = [exe, spec] if exe else [sys.executable, "-m", "archcalc", spec]
    baseline = [sys.executable, "-c", "import pydantic, yaml"]
    wall(cli, 2)  # warm the file cache
    base, run = [], []
    for _ in range(repeats):  # interleave so that machine load hits both alike
        base.append(wall(baseline, 1))
        run.append(wall(cli, 1))
    b, r = statistics.median(base), statistics.median(run)
    print(f"{'archcalc ' + spec:<40} {r * 1000:7.1f} ms   baseline {b * 1000:7.1f} ms   "
          f"ratio {r / b:4.2f}x   (target <= 1.5x)")


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
    print(f"archcalc {archcalc.__version__}, Python {sys.version.split()[0]}, median of {repeats} runs")
    cli_vs_baseline("specs/vgg16.yaml", repeats)
    spec = sequential_spec(10_000)
    in_process("analyze 10,000-layer sequential spec", lambda: archcalc.load(spec), 3, "< 500 ms")


if __name__ == "__main__":
    main()
