"""Speed figures for archcalc: whole-process CLI time against a bare-import baseline, in-process analysis
time of large specs, and the mutation-fuzz cases. Each figure is printed beside its target, with MISSED
when it misses it; the benchmark never fails (exit status 0): speed is watched here, never asserted by the
unit tests, whose machine may be loaded.

    python benchmarks/bench.py           # full run
    python benchmarks/bench.py --quick   # fewer repeats (CI)
"""
from __future__ import annotations

import argparse
import compileall
import importlib.util
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# Installed packages run from compiled bytecode (pip compiles it); so does archcalc here, as for a user.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


MISSED: list[str] = []


def verdict(label: str, value: float, limit: float) -> str:
    """``target <= limit``, and MISSED when ``value`` is above it (remembered for the summary)."""
    if value <= limit:
        return ""
    MISSED.append(label)
    return "   MISSED"


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


def cli_vs_baseline(args: list[str], repeats: int, target: float = 1.5) -> None:
    """Whole-process time of an archcalc command next to ``python -c "import pydantic, yaml"``."""
    cli = archcalc_cmd(*args)
    baseline = [sys.executable, "-c", "import pydantic, yaml"]
    wall(cli, 2)  # warm the file cache
    base, run = [], []
    for _ in range(repeats):  # interleave so that machine load hits both alike
        base.append(wall(baseline, 1))
        run.append(wall(cli, 1))
    b, r = statistics.median(base), statistics.median(run)
    label = "archcalc " + " ".join(args)
    print(f"{label:<52} {r * 1000:7.1f} ms   baseline {b * 1000:6.1f} ms   "
          f"ratio {r / b:4.2f}x (min {min(run) / min(base):4.2f}x)   target <= {target}x"
          + verdict(label, r / b, target))


def sequential_spec(n: int) -> dict:
    """n layers alternating a 3x3 'same' conv and a ReLU on a 16x32x32 input."""
    layers = []
    for i in range(n):
        layers.append({"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1} if i % 2 == 0
                      else {"type": "relu"})
    return {"name": f"seq{n}", "input": [16, 32, 32], "layers": layers}


def in_process(label: str, make, repeats: int, target_ms: float | None) -> None:
    import archcalc
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        archcalc.analyze(make())
        times.append(time.perf_counter() - t0)
    best = min(times) * 1000
    target = f"target < {target_ms:.0f} ms" if target_ms else "no target"
    print(f"{label:<52} {best:7.1f} ms best of {repeats}   ({target})"
          + (verdict(label, best, target_ms) if target_ms else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 5 if args.quick else 21
    import archcalc
    compileall.compile_dir(str(ROOT / "archcalc"), quiet=1)
    print(f"archcalc {archcalc.__version__}, Python {sys.version.split()[0]}, median of {repeats} runs")
    spec = sequential_spec(10_000)
    resnet152 = archcalc.load(ROOT / "specs" / "resnet152.yaml")
    for measure in (
        lambda: cli_vs_baseline(["specs/vgg16.yaml"], repeats),
        lambda: cli_vs_baseline(["specs/resnet50.yaml"], repeats),
        lambda: cli_vs_baseline(["specs/llama3_8b.yaml"], repeats),  # the analysis alone, next to the import
        lambda: cli_vs_baseline(["import", "hf", "docs/examples/llama3_8b.json"], repeats),
        lambda: cli_vs_baseline(["docs/examples/llama3_8b.json"], repeats),  # import and analysis in one step
        lambda: in_process("load + analyze 10,000-layer sequential spec", lambda: archcalc.load(spec), 3, 500),
        lambda: in_process("analyze ResNet-152 (loaded)", lambda: resnet152, 5, None),
        lambda: symbolic_resnet(3 if args.quick else 5),
        symbolic_zoo,
        lambda: sweep_grid(32, 32),
        lambda: fuzz_cases(200 if args.quick else 2000),
    ):
        try:
            measure()
        except Exception:  # a figure that cannot be measured is reported, and the others still run
            MISSED.append("a measurement failed")
            print("could not measure:", traceback.format_exc().strip().splitlines()[-1], "   MISSED")
    print(f"{len(MISSED)} targets MISSED: {', '.join(MISSED)}" if MISSED else "every target met")


def symbolic_resnet(repeats: int) -> None:
    t = wall(archcalc_cmd("specs/resnet50.yaml", "--symbolic", "H", "W"), repeats)
    label = "archcalc specs/resnet50.yaml --symbolic H W"
    print(f"{label:<52} {t * 1000:7.1f} ms   (target < 3 s, ideally < 1.5 s)" + verdict(label, t, 3.0))


def symbolic_zoo() -> None:
    """formula SPEC --symbolic over the spatial symbols, for every zoo vision spec: the slowest, and each over 3 s."""
    slow, times = [], {}
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        first_input = next((line for line in path.read_text(encoding="utf-8").splitlines()
                            if line.startswith("input:")), "")
        names = ["H", "W"] if ", H, W]" in first_input else ["image"] if "image" in first_input else None
        if names is None:
            continue
        times[path.stem] = t = wall(archcalc_cmd("formula", f"specs/{path.name}", "--symbolic", *names), 1)
        if t > 3.0:
            slow.append(f"{path.stem} {t:.1f} s")
    label = f"formula --symbolic H W, {len(times)} zoo vision specs"
    worst = max(times, key=times.get)
    print(f"{label:<52} {times[worst] * 1000:7.1f} ms slowest ({worst}; target < 3 s each)"
          + (verdict(label, times[worst], 3.0) + f" ({', '.join(slow)})" if slow else ""))


def fuzz_cases(cases: int) -> None:
    """The mutated zoo specs of tests/test_fuzz.py, in-process: the median and slowest case."""
    spec = importlib.util.spec_from_file_location("archcalc_fuzz", ROOT / "tests" / "test_fuzz.py")
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)  # needs the test extra (pytest, hypothesis)
    from archcalc.cli import main
    texts = {path: Path(path).read_text(encoding="utf-8") for path in fuzz.ZOO}
    times = []
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"archcalc-bench-{os.getpid()}.yaml"
    try:
        for case in range(cases):
            rng = random.Random(f"{fuzz.FUZZ_SEED}:{case}")
            zoo = fuzz.ZOO[case % len(fuzz.ZOO)]
            mutated = fuzz.mutate(texts[zoo], rng)
            path.write_bytes(mutated if isinstance(mutated, bytes) else mutated.encode("utf-8", "surrogatepass"))
            fmt = rng.choice(fuzz.FORMATS)
            t0 = time.perf_counter()
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                main([str(path), "-f", fmt])
            times.append(time.perf_counter() - t0)
    finally:
        path.unlink(missing_ok=True)
    label = f"fuzz: {cases} mutated zoo specs, slowest case"
    print(f"{label:<52} {max(times) * 1000:7.1f} ms   median {statistics.median(times) * 1000:5.1f} ms   "
          "(target < 2 s)" + verdict(label, max(times), 2.0))


def sweep_grid(nh: int, nw: int) -> None:
    """Totals of VGG-16 over an nh x nw grid of (H, W): every point a numeric run (every check of a run applies)."""
    import archcalc
    from archcalc.analyses.explore import Runs
    from archcalc.analyses.sweep import sweep
    runs = Runs(archcalc.load(ROOT / "specs" / "vgg16.yaml"))
    axes = [("H", range(32, 32 * nh + 1, 32)), ("W", range(32, 32 * nw + 1, 32))]
    t0 = time.perf_counter()
    table = sweep(runs, axes, ["params", "macs", "flops"])
    t = time.perf_counter() - t0
    label = f"sweep VGG-16 over {nh * nw:,} grid points, 3 totals"
    if len(table["macs"]) != nh * nw:
        raise RuntimeError(f"the sweep gave {len(table['macs'])} points, not {nh * nw}")
    print(f"{label:<52} {t * 1000:7.1f} ms   (target < 2 s)" + verdict(label, t, 2.0))


if __name__ == "__main__":
    main()
