"""Command line: ``archcalc SPEC``, ``archcalc schema``. Reads, formats and writes; no maths here."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from .errors import ArchcalcError, SpecError

USAGE = """archcalc SPEC [--format table|json|csv|markdown] [--set NAME=VALUE ...]
       archcalc schema"""


def _parser() -> argparse.ArgumentParser:
    from . import __version__
    p = argparse.ArgumentParser(prog="archcalc", usage=USAGE, description=(
        "Shapes, parameters, MACs/FLOPs and receptive fields of a network declared in YAML."))
    p.add_argument("spec", help="spec file (YAML), or - for standard input")
    p.add_argument("-f", "--format", default="table", choices=["table", "json", "csv", "markdown"],
                   help="output format (default: table)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                   help="override a variable, batch, or input (e.g. --set H=256 --set input=3,256,256)")
    p.add_argument("--depth", type=int, default=None, metavar="N",
                   help="table and markdown: collapse blocks below depth N (1 = top level only)")
    p.add_argument("--version", action="version", version=f"archcalc {__version__}")
    return p


def parse_override(text: str) -> tuple[str, Any]:
    """``NAME=VALUE``: VALUE is an integer, a comma list (for input), or an expression kept as text."""
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name.isidentifier() or not value:
        raise SpecError(f"--set {text!r} is not NAME=VALUE", hint="e.g. --set H=256")
    if name == "input":
        parts = [v.strip() for v in value.strip("[]()").replace("x", ",").split(",") if v.strip()]
        return name, [int(v) if v.lstrip("-").isdigit() else v for v in parts]
    return name, int(value) if value.lstrip("-").isdigit() else value


def main(argv: Sequence[str] | None = None) -> int:
    import os
    # pydantic's plugin discovery scans every installed package's entry points (a tenth of a run);
    # the command line needs no plugins. The library API leaves the environment alone.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list[:1] == ["schema"]:
            import json

            from .schema import json_schema
            print(json.dumps(json_schema(), indent=2))
            return 0
        args = _parser().parse_args(args_list)
        overrides = dict(parse_override(o) for o in args.overrides)
        from .engine import analyze
        from .render import FORMATS
        from .spec import build, read_text
        from .yamlio import load_yaml
        text, shown = read_text(args.spec)
        report = analyze(build(load_yaml(text, shown), shown, overrides))
        sys.stdout.write(FORMATS[args.format](report, args.depth) + "\n")
        return 0
    except ArchcalcError as e:
        print(f"archcalc: {e.format()}", file=sys.stderr)
        return 2
    except BrokenPipeError:
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
