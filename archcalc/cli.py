"""Command line: reads, formats and writes; no maths here.

    archcalc SPEC [-f table|json|csv|markdown|latex] [--set NAME=VALUE] [--symbolic NAME ...] [--depth N]
    archcalc formula SPEC --metric macs [--symbolic NAME ...]
    archcalc sweep SPEC --vary H=32:1024:32 [--metric macs ...]
    archcalc solve SPEC --budget macs=4e9 --for width
    archcalc plot SPEC -o FILE.svg --kind summary
    archcalc report SPEC -o report.html [--hardware NAME] [--memory]
    archcalc export SPEC --to pytorch [-o FILE]
    archcalc import hf CONFIG.json [-o SPEC.yaml]
    archcalc schema
    archcalc zoo
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .core.errors import ArchcalcError, InputError, SpecError
from .core.metrics import LISTED_NAMES

COMMANDS = ("formula", "sweep", "solve", "compare", "plot", "report", "export", "import", "schema", "zoo")
METRICS = LISTED_NAMES  # --metric choices of formula and sweep


# What each command does, and two or three examples (its --help shows them).
ABOUT = {
    None: ("Shapes, parameters, MACs/FLOPs and receptive fields of a network declared in YAML, layer by layer, "
           f"under a named counting convention. Other commands: {', '.join(COMMANDS)} (archcalc COMMAND --help).",
           ["archcalc specs/vgg16.yaml", "archcalc resnet18 -f json --set H=256 --set W=256",
            "archcalc gpt2 --memory --dtype bf16 --batch 8",
            "archcalc resnet18 --at layer4"]),
    "formula": ("One total as a closed-form formula in the symbols named by --symbolic (or the spec's symbols:).",
                ["archcalc formula specs/resnet50.yaml --symbolic H W", "archcalc formula gpt2 --metric params "
                 "--symbolic T --latex",
                 "archcalc formula resnet18 --metric rf --at layer3"]),
    "sweep": ("Totals over a grid of values, as CSV, JSON or a table, and optionally a plot.",
              ["archcalc sweep specs/resnet18.yaml --vary H=64:512:64 --set W=H",
               "archcalc sweep gpt2 --vary T=128,256,512 --metric macs flops -f table"]),
    "solve": ("The largest value of a variable that keeps every budget.",
              ["archcalc solve specs/resnet18.yaml --budget macs=4e9 --for H",
               "archcalc solve gpt2 --budget params=200M --for depth"]),
    "compare": ("Every counting convention side by side: archcalc's, Kaplan's and each tool's preset.",
                ["archcalc compare specs/resnet18.yaml", "archcalc compare gpt2 --metric flops -f markdown"]),
    "plot": ("One chart of the analysis, as PNG, SVG or PDF (needs the plot extra).",
             ["archcalc plot specs/vgg16.yaml -o vgg16.png", "archcalc plot resnet18 -o rf.svg --kind rf",
              "archcalc plot resnet18 -o totals.png --kind totals"]),
    "report": ("One self-contained HTML page: the summary, charts, the layer table and the spec.",
               ["archcalc report specs/resnet50.yaml -o resnet50.html",
                "archcalc report gpt2 -o gpt2.html --hardware a100-80gb-sxm --memory"]),
    "export": ("The spec as source code: a runnable torch.nn.Module with an example input.",
               ["archcalc export specs/resnet18.yaml --to pytorch -o resnet18.py",
                "archcalc export gpt2 --to pytorch --set T=8"]),
    "import": ("A spec written from an existing model: a Hugging Face config.json (read as JSON, no transformers "
               "needed), in the zoo's style; archcalc CONFIG.json analyses one directly.",
               ["archcalc import hf docs/examples/llama3_8b.json", "archcalc docs/examples/llama3_8b.json"]),
    "schema": ("The JSON Schema of a spec, for editors (yaml-language-server).",
               ["archcalc schema > archcalc.schema.json"]),
    "zoo": ("The specs installed with archcalc, one line each; any of them runs by name.",
            ["archcalc zoo", "archcalc resnet18"]),
}
SYMBOLIC = (None, "formula", "report")  # the commands whose figures may be formulas (compare: --symbolic only)


def _spec_options(p: argparse.ArgumentParser, command: str | None) -> None:
    """The spec and the options that build and count it, as far as ``command`` uses them."""
    p.add_argument("spec", help="spec file (YAML), a zoo name (archcalc zoo), or - for standard input")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                   help="override a variable, batch, or input (e.g. --set H=256 --set input=3,256,256)")
    if command == "export":
        return
    if command in (*SYMBOLIC, "compare"):
        p.add_argument("--symbolic", nargs="+", default=[], metavar="NAME",
                       help="keep these variables as symbols (positive integers): figures become formulas")
        p.add_argument("--assume", action="append", default=[], metavar="NAME=multiple_of:M",
                       help="assume a symbol is a multiple of M (e.g. --assume H=multiple_of:32, the total stride), "
                            "so that strided floors simplify; as symbols: {H: {multiple_of: 32}} in the spec")
    if command in SYMBOLIC:
        p.add_argument("--simplify", default="expand", choices=["expand", "factor", "collect", "none"],
                       help="form of the formulas (default: expand)")
        p.add_argument("--collect", nargs="+", default=[], metavar="NAME", help="with --simplify collect: by these")
    p.add_argument("--batch", type=int, metavar="N", help="batch size, overriding the spec's batch (as --set batch=N)")
    if command != "compare":  # compare shows every convention
        p.add_argument("--convention", default="archcalc", metavar="NAME|FILE",
                       help="counting convention (default: archcalc): kaplan (Kaplan et al. 2020's non-embedding "
                            "parameters and forward FLOPs per token), a tool's preset (torch, fvcore, ptflops, thop, "
                            "torchinfo, paper), or a YAML file of your own; archcalc compare shows them side by side")


def _parser(command: str | None) -> argparse.ArgumentParser:
    from .core.version import __version__
    prog = f"archcalc {command}" if command else "archcalc"
    about, examples = ABOUT[command]
    p = argparse.ArgumentParser(prog=prog, description=about, formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="examples:\n" + "\n".join(f"  {e}" for e in examples))
    if command in ("schema", "zoo"):
        return p
    if command == "import":
        p.add_argument("source", choices=["hf"], help="what to import: hf, a Hugging Face config.json")
        p.add_argument("config", metavar="CONFIG.json", help="the config file, or - for standard input")
        p.add_argument("-o", "--output", metavar="SPEC.yaml", help="the spec to write (default: standard output)")
        return p
    _spec_options(p, command)
    if command == "export":
        from .export import TARGETS
        p.add_argument("--to", required=True, choices=TARGETS, help="the framework to write code for")
        p.add_argument("-o", "--output", metavar="FILE", help="the file to write (default: standard output)")
        return p
    if command in (None, "report"):
        p.add_argument("--hardware", metavar="NAME|FILE", help="add roofline bounds for a device: a built-in "
                       "name (archcalc --hardware list) or a YAML file of your own entries")
        p.add_argument("--dtype", choices=["fp32", "bf16", "fp16", "int8"],
                       help="bytes per value for the roofline and the memory report (default: fp32); without "
                            "--hardware it implies --memory")
        p.add_argument("--efficiency", type=float, default=1.0, metavar="E",
                       help="fraction of peak assumed for the roofline time at that efficiency (default 1.0)")
        p.add_argument("--memory", action="store_true", help="add memory: parameter bytes, peak live activations, "
                       "training memory and KV cache at --dtype and the batch")
        p.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], help="optimizer state counted in the "
                       "training memory (default: adam); implies --memory")
    if command in (None, "formula"):
        p.add_argument("--at", "--rf-at", dest="at", metavar="LAYER",
                       help="every figure at a named layer (a block: its last layer), summed up to and including it "
                            "in walk order, with its output shape and receptive field")
    if command is None:
        p.add_argument("-f", "--format", default="table",
                       choices=["table", "json", "csv", "markdown", "latex"], help="output format (default: table)")
        p.add_argument("--depth", type=int, default=None, metavar="N",
                       help="table and markdown: collapse blocks below depth N (1 = top level only)")
        p.add_argument("--rf", default="field", choices=["field", "windows"],
                       help="table, markdown and csv: the receptive field (default), or the field of the convolution "
                            "and pooling windows alone, as papers quote it (normalisation statistics and broadcast "
                            "gates ignored); JSON gives both (rf, rf_windows)")
        p.add_argument("--version", action="version", version=f"archcalc {__version__}")
    elif command == "plot":
        p.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.png, FILE.svg or FILE.pdf")
        p.add_argument("--kind", default="summary", choices=["layers", "cumulative", "rf", "summary", "totals"],
                       help="which chart (default: summary)")
        p.add_argument("--depth", type=int, default=None, metavar="N", help="layers chart: collapse blocks below N")
    elif command == "report":
        p.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    elif command == "formula":
        p.add_argument("--metric", default="macs", choices=[*METRICS, "rf"], help="which total (default: macs)")
        p.add_argument("--latex", action="store_true", help="print a LaTeX equation: the metric's symbol with "
                       "its arguments, digits grouped, integer coefficients where the assumptions give them")
    elif command == "sweep":
        p.add_argument("--vary", action="append", required=True, metavar="NAME=START:STOP:STEP",
                       help="a grid axis (stop included), or NAME=v1,v2,...; repeat for a grid")
        p.add_argument("--metric", nargs="+", default=["params", "macs", "flops"], choices=METRICS,
                       help="the totals to give at each point (default: params macs flops)")
        p.add_argument("-f", "--format", default="csv", choices=["csv", "json", "table"],
                       help="output format (default: csv)")
        p.add_argument("--plot", metavar="FILE", help="also draw the totals against the first axis "
                                                      "(needs the plot extra: pip install 'archcalc[plot]')")
    elif command == "compare":
        p.add_argument("--metric", default="macs", choices=["macs", "flops"],
                       help="MACs or FLOPs, each preset as its tool counts them (default: macs)")
        p.add_argument("-f", "--format", default="table", choices=["table", "markdown", "json"],
                       help="output format (default: table)")
    elif command == "solve":
        p.add_argument("--budget", action="append", required=True, metavar="METRIC=VALUE",
                       help="e.g. macs=4e9; repeat for several budgets, every one binds")
        p.add_argument("--for", dest="unknown", required=True, metavar="NAME", help="the variable to size")
        p.add_argument("--max", default="1000000000", help="largest value to consider (default 1e9, at most 1e18)")
    return p


def parse_override(text: str) -> tuple[str, Any]:
    """``NAME=VALUE``: VALUE is an integer (ASCII digits, at most num.MAX_BITS bits), a comma list (for input), or
    an expression kept as text (the expression evaluator bounds it)."""
    from .core.num import LIMIT_HINT, TooLarge, whole_number
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name.isidentifier() or not value:
        raise SpecError(f"--set {text!r} is not NAME=VALUE", hint="e.g. --set H=256")

    def number(v: str) -> Any:
        try:
            n = whole_number(v)
        except TooLarge:
            raise SpecError(f"--set {name}: the number is too large", hint=LIMIT_HINT) from None
        return v if n is None else n

    if name == "input":
        import re
        if re.fullmatch(r"[0-9]+(x[0-9]+)+", value):  # 3x256x256
            value = value.replace("x", ",")
        parts = [v.strip() for v in value.strip("[]()").split(",") if v.strip()]
        return name, [number(v) for v in parts]
    return name, number(value)


def _analyze(args: argparse.Namespace, symbolic: Sequence[str] = ()) -> Any:
    """The report of ``args.spec`` under ``--convention``."""
    from .count.preset import load  # the built-in conventions first, then presets and files
    from .walk.engine import analyze
    network = _network(args, symbolic)  # the spec is read first, then the convention file
    convention = load(getattr(args, "convention", "archcalc"))  # compare takes no --convention
    return analyze(network, simplify=getattr(args, "simplify", "expand"), collect=tuple(getattr(args, "collect", ())),
                   convention=convention)


def _analyze_at(args: argparse.Namespace) -> Any:
    """The report, cut at ``--at LAYER`` when given."""
    from .walk.at import at
    report = _analyze(args)
    return at(report, args.at) if args.at else report


def _network(args: argparse.Namespace, symbolic: Sequence[str] = ()) -> Any:
    """The network of ``args.spec`` with --set, --batch and --symbolic applied; its text is kept as
    ``args.text`` (standard input can be read only once)."""
    from .read.spec import build, read_text, with_assumptions
    from .read.yamlio import load_yaml
    overrides = dict(parse_override(o) for o in args.overrides)
    batch = getattr(args, "batch", None)  # export takes --set only
    if batch is not None:
        if "batch" in overrides:
            raise SpecError("the batch is given twice, by --batch and --set batch=", file="--batch",
                            hint="keep one of them")
        if batch < 1:
            raise SpecError(f"--batch {batch} is not a positive integer", file="--batch", hint="e.g. --batch 8")
        overrides["batch"] = batch
    args.text, shown = read_text(args.spec)
    if shown.endswith(".json"):  # a Hugging Face config.json (model_type, no layers): imported, then analysed
        from .importers.hf import is_config, parse_config, to_spec
        if is_config(args.text):
            args.text = to_spec(parse_config(args.text, shown), shown)
    assume = dict(parse_assumption(a) for a in getattr(args, "assume", ()))
    network = build(with_assumptions(load_yaml(args.text, shown), assume), shown, overrides,
                    [*getattr(args, "symbolic", ()), *symbolic])
    missing = [name for name in assume if network.symbols is None or name not in network.symbols.names]
    if missing:
        raise SpecError(f"--assume {missing[0]}: {missing[0]} is not a symbol of this run", file="--assume",
                        hint=f"make it one with --symbolic {missing[0]}, or leave --assume out")
    return network


def parse_assumption(text: str) -> tuple[str, int]:
    """``NAME=multiple_of:M`` -> (NAME, M)."""
    name, _, assumption = text.partition("=")
    kind, _, value = assumption.partition(":")
    if not name.isidentifier() or kind != "multiple_of" or not value.isdigit() or not 0 < len(value) <= 18 \
            or int(value) < 1:
        raise SpecError(f"--assume {text!r} is not NAME=multiple_of:M", file="--assume",
                        hint="e.g. --assume H=multiple_of:32 (M a positive integer)")
    return name, int(value)


def _roofline(report: Any, args: argparse.Namespace) -> None:
    """The sections the options ask for: roofline bounds (--hardware), memory (--memory, --optimizer, or
    --dtype without --hardware)."""
    if args.hardware == "list":
        raise SpecError("--hardware list takes no spec", hint="run archcalc --hardware list")
    if args.hardware:
        from .analyses.roofline import annotate
        annotate(report, args.hardware, args.dtype or "fp32", args.efficiency)
    if args.memory or args.optimizer or args.dtype and not args.hardware:
        from .analyses.memory import annotate as memory
        memory(report, args.dtype or "fp32", args.optimizer or "adam")


def _export(args: argparse.Namespace) -> None:
    """archcalc export: the spec, with its --set overrides, as source code for --to (to -o FILE or stdout)."""
    from .export import export
    network = _network(args)
    source = export(network, args.to)
    if args.output is None:
        write_stdout(source)
        return
    from .outputs.files import write_file
    write_file(args.output, source)
    _wrote(args.output, f"the {_FRAMEWORKS[args.to]} code of {network.name}")


_FRAMEWORKS = {"pytorch": "PyTorch"}  # how an export target is named in prose


def _wrote(path: str, what: str) -> None:
    """The one line a command that writes a file prints on standard output once it has written it (errors alone
    go to standard error)."""
    from .core.escape import printable
    write_stdout(f"wrote {printable(path)}: {printable(what)}\n")


def _spec(source: str) -> str:
    """The spec file ``source`` names: a file path always wins over a zoo name (``resnet18``)."""
    import os

    from .read.zoo import resolve, unknown_hint
    path = resolve(source)
    if path == source and source != "-" and not os.path.lexists(source):
        hint = unknown_hint(source)
        if hint:
            raise InputError(f"no such file or zoo spec: {source}", file=source, hint=hint)
    return path


def _check_outputs(command: str | None, args: argparse.Namespace) -> None:
    """Refuse, before reading or writing anything, an output file that cannot be written or is a file the command
    reads: the spec, a --convention or --hardware file."""
    from .outputs.files import check_target
    output, option = getattr(args, "output", None), "-o"
    if command == "sweep":
        output, option = args.plot, "--plot"
    what = "the image" if command in ("plot", "sweep") else "the file"
    if output is None:
        return
    hardware = getattr(args, "hardware", None) or ""  # FILE or FILE:NAME
    check_target(output, [("the spec", args.spec), ("the --convention file", getattr(args, "convention", None)),
                          *(("the --hardware file", h) for h in (hardware, hardware.rpartition(":")[0]))], option,
                 what)


@contextmanager
def all_digits() -> Iterator[None]:
    """Exact counts print in full, beyond Python's 4,300-digit default; the spec's own integers were parsed
    under that default, which keeps a huge literal from taking quadratic time."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(limit)


def write_stdout(text: str) -> None:
    from .outputs.files import write_stdout as write
    write(text)


def _import(args: argparse.Namespace) -> None:
    """archcalc import hf: the config's spec, to -o FILE or standard output."""
    from .importers.hf import import_file
    if args.output is not None:
        from .outputs.files import check_target
        check_target(args.output, [("the config", args.config)], "-o", "the file")
    text = import_file(args.config)
    if args.output is None:
        write_stdout(text)
        return
    from .outputs.files import write_file
    write_file(args.output, text)
    _wrote(args.output, f"the spec imported from {args.config}")


def run(command: str | None, args: argparse.Namespace) -> int:
    if command == "import":
        _import(args)
        return 0
    if getattr(args, "spec", None):
        args.spec = _spec(args.spec)
    if command not in ("schema", "zoo"):
        _check_outputs(command, args)
    if command == "zoo":
        from .core.escape import printable
        from .read.zoo import listing
        rows = listing()
        width = max((len(name) for name, _ in rows), default=0)
        write_stdout("".join(f"{name:<{width}}  {printable(what)}\n" for name, what in rows))
    elif command == "schema":
        import json

        from .read.schema import json_schema
        write_stdout(json.dumps(json_schema(), indent=2) + "\n")
    elif command is None:
        from .outputs.render import FORMATS
        report = _analyze_at(args)
        _roofline(report, args)
        report.rf_view = args.rf
        with all_digits():
            write_stdout(FORMATS[args.format](report, args.depth) + "\n")
    elif command == "plot":
        from .outputs.plot import plot
        report = _analyze(args)
        plot(report, args.kind, args.output, args.depth)
        _wrote(args.output, f"the {args.kind} chart of {report.name} (convention {report.convention.name})")
    elif command == "report":
        from .outputs.html import write_report
        report = _analyze(args)
        _roofline(report, args)
        with all_digits():
            write_report(report, args.text, args.output)
        _wrote(args.output, f"the HTML report of {report.name} (convention {report.convention.name})")
    elif command == "formula":
        from .analyses.explore import formula, piecewise_note
        report = _analyze_at(args)
        if args.latex:
            from .outputs.tex import formula as formula_latex
            write_stdout(formula_latex(report, args.metric) + "\n")
        else:
            write_stdout(formula(report, args.metric) + "\n")
        note = piecewise_note(report, args.metric)
        if note and sys.stderr is not None:
            print(f"archcalc: {note}", file=sys.stderr)
    elif command == "sweep":
        from .analyses.sweep import parse_axis, sweep, write_sweep
        axes = [parse_axis(a) for a in args.vary]
        runs = _runs(args)
        table = sweep(runs, axes, args.metric)
        if args.plot:
            from .outputs.plot_sweep import plot_sweep
            plot_sweep(table, args.plot, runs.network.name)
        write_stdout(write_sweep(table, args.format))
    elif command == "export":
        _export(args)
    elif command == "compare":
        from .analyses.compare import compare, table
        rows = compare(_network(args), args.metric)
        if args.format == "json":
            import json

            from .core.num import fmt_exact
            write_stdout(json.dumps(rows, indent=2, default=fmt_exact) + "\n")
        else:
            write_stdout(table(rows, args.metric, markdown=args.format == "markdown") + "\n")
    elif command == "solve":
        from .analyses.solve import parse_budget, parse_max, search
        budgets = [parse_budget(b) for b in args.budget]
        answer = search(_runs(args), args.unknown, budgets, parse_max(args.max))
        write_stdout("\n".join(answer.lines()) + "\n")
    return 0


def _runs(args: argparse.Namespace) -> Any:
    """sweep and solve: numeric runs of the spec (with --set, --batch, --convention) at the values they try."""
    from .analyses.explore import Runs
    from .count.preset import load
    return Runs(_network(args), load(args.convention))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = None
    try:
        if argv in (["--hardware", "list"], ["--hardware=list"]):  # the built-in devices; no spec needed
            from .analyses.roofline import listing
            write_stdout(listing() + "\n")
            return 0
        args = _parser(command).parse_args(argv[1:] if command else argv)
        from .core.symbolic import metered
        with metered():  # one budget of symbolic work for the whole command: analysis, memory peaks, output
            return run(command, args)
    except ArchcalcError as e:
        spec = getattr(args, "spec", None)
        if sys.stderr is not None:
            print(f"archcalc: {e.locate(file=None if spec in (None, '-') else spec).format()}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader has gone (| head): a quiet end, and nothing left to flush at exit
        from .outputs.files import discard_stdout
        discard_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug in archcalc, not in the spec
        import traceback
        traceback.print_exc()
        print("archcalc: internal error (a bug in archcalc, not in your spec); please report it with the "
              "spec and the traceback above", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
