"""Every output of every zoo spec, as a list of digests: the proof that a refactoring changed no byte.

Each case runs the CLI in this process and records the SHA-256 of what it wrote (standard output, standard
error, the exit status and any file it wrote). Cases: every spec in every format (table, json, csv, markdown,
latex) under every convention; --memory; --symbolic over the spec's declared symbols (table and json);
--depth 1; --rf windows; compare; export --to pytorch; the HTML report.

    python benchmarks/outputs.py save before.txt     # run on the old code
    python benchmarks/outputs.py check before.txt    # run on the new code: lists every case that differs

Runs take a few minutes; ``--only NAME`` restricts to the specs whose file name contains NAME.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tempfile
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archcalc.cli import main  # noqa: E402
from archcalc.count.preset import available  # noqa: E402

FORMATS = ("table", "json", "csv", "markdown", "latex")


def symbols_of(spec: Path) -> list[str]:
    """The names the spec declares under ``symbols:`` (a list or a mapping); none if it declares none."""
    declared = (yaml.safe_load(spec.read_text()) or {}).get("symbols") or []
    return list(declared)


def cases(spec: Path) -> Iterator[tuple[str, list[str]]]:
    s = str(spec.relative_to(ROOT))
    for convention in available():
        for fmt in FORMATS:
            yield f"{fmt} {convention}", [s, "-f", fmt, "--convention", convention]
    yield "memory table", [s, "--memory"]
    yield "memory json", [s, "--memory", "-f", "json"]
    yield "memory bf16 sgd markdown", [s, "--dtype", "bf16", "--optimizer", "sgd", "-f", "markdown"]
    yield "depth 1", [s, "--depth", "1"]
    yield "rf windows", [s, "--rf", "windows", "-f", "csv"]
    yield "compare macs", ["compare", s]
    yield "compare flops markdown", ["compare", s, "--metric", "flops", "-f", "markdown"]
    names = symbols_of(spec)
    if names:
        yield "symbolic table", [s, "--symbolic", *names]
        yield "symbolic json memory", [s, "--symbolic", *names, "-f", "json", "--memory"]
        yield "symbolic latex", [s, "--symbolic", *names, "-f", "latex"]
        yield "formula macs", ["formula", s, "--symbolic", *names]
    yield "export pytorch", ["export", s, "--to", "pytorch"]
    yield "report html", ["report", s, "-o", "{out}.html"]
    yield "roofline", [s, "--hardware", "a100-80gb-sxm", "-f", "json"]


STATUSES: dict[int, int] = {}  # exit status -> cases (3, an internal error, would hash a traceback's paths)


def digest(argv: list[str], scratch: Path) -> str:
    out, err = io.StringIO(), io.StringIO()
    target = scratch / "case"
    argv = [a.replace("{out}", str(target)) for a in argv]
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    STATUSES[code] = STATUSES.get(code, 0) + 1
    h = hashlib.sha256(f"{code}\0{out.getvalue()}\0{err.getvalue()}".encode())
    for written in sorted(scratch.iterdir()):
        h.update(written.name.encode() + b"\0" + written.read_bytes())
        written.unlink()
    return h.hexdigest()


def run(only: str | None) -> dict[str, str]:
    found: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in sorted((ROOT / "specs").glob("*.yaml")):
            if only and only not in spec.name:
                continue
            for label, argv in cases(spec):
                found[f"{spec.name} | {label}"] = digest(argv, Path(tmp))
    return found


def main_(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["save", "check"])
    p.add_argument("file")
    p.add_argument("--only", metavar="NAME")
    args = p.parse_args(argv)
    found = run(args.only)
    print("exit statuses: " + ", ".join(f"{code}: {n} cases" for code, n in sorted(STATUSES.items())))
    if args.action == "save":
        Path(args.file).write_text("".join(f"{k} = {v}\n" for k, v in found.items()))
        print(f"{len(found)} cases saved to {args.file}")
        return 0
    saved = dict(line.rsplit(" = ", 1) for line in Path(args.file).read_text().splitlines())
    differ = [k for k in found if saved.get(k) != found[k]]
    missing = [k for k in saved if k not in found]
    for k in differ:
        print(f"DIFFERS: {k}")
    for k in missing:
        print(f"NOT RUN: {k}")
    print(f"{len(found)} cases run, {len(found) - len(differ)} byte-identical, {len(differ)} differ, "
          f"{len(missing)} of the saved file not run")
    return 1 if differ or missing else 0


if __name__ == "__main__":
    sys.exit(main_())
