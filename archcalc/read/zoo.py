"""The zoo: the specs that ship with archcalc, found by name (``archcalc resnet18``).

Installed, they are the package's ``zoo`` folder (pyproject.toml installs the checkout's ``specs/`` there); run from
a checkout (an editable install, or the source on the path) they are ``specs/`` beside the package. A file path
always wins over a zoo name: the zoo is looked at only when no file of that name exists.
"""
from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def folder() -> Path | None:
    """Where the zoo's specs are, or None (a copy of the package without them)."""
    for candidate in (_PACKAGE / "zoo", _PACKAGE.parent / "specs"):
        if candidate.is_dir():
            return candidate
    return None


def names() -> list[str]:
    """The zoo's spec names, sorted."""
    found = folder()
    return sorted(p.stem for p in found.glob("*.yaml")) if found else []


def resolve(source: str) -> str:
    """``source`` itself when it is ``-`` or an existing path, or when it cannot be a zoo name; else the zoo's
    spec of that name (``resnet18`` or ``resnet18.yaml``), when there is one."""
    if source == "-" or os.path.lexists(source) or os.sep in source or (os.altsep and os.altsep in source):
        return source
    found = folder()
    stem = source.removesuffix(".yaml")
    if found is None or not stem or stem.startswith("."):
        return source
    path = found / f"{stem}.yaml"
    return str(path) if path.is_file() else source


def unknown_hint(source: str) -> str | None:
    """For a name that is neither a file nor a zoo spec: the closest zoo name, or where the list is (None when
    ``source`` looks like a path)."""
    if os.sep in source or (os.altsep and os.altsep in source):
        return None
    from difflib import get_close_matches
    close = get_close_matches(source.removesuffix(".yaml"), names(), 1)
    return f"did you mean the zoo's {close[0]}?" if close else "check the path; archcalc zoo lists the zoo's specs"


def listing() -> list[tuple[str, str]]:
    """(name, what it is) of every zoo spec: the first clause of its header comment."""
    found = folder()
    rows = []
    for name in names():
        assert found is not None
        header = []
        with open(found / f"{name}.yaml", encoding="utf-8") as f:
            for line in f:
                if not line.startswith("#"):
                    break
                header.append(line.lstrip("#").strip())
        rows.append((name, _first_clause(" ".join(header))))
    return rows


def _first_clause(text: str, width: int = 100) -> str:
    """``text`` up to its first ": ", "; " or sentence end outside brackets and quotes, at most ``width``
    characters."""
    depth, quoted = 0, False
    for i, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        quoted ^= c == '"'
        if depth == 0 and not quoted and c in ":;." and text[i + 1:i + 2] == " " and not (
                c == "." and text[:i].endswith((" al", "e.g", "i.e"))):  # et al., e.g., i.e. end no sentence
            text = text[:i]
            break
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"
