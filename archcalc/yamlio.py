"""Safe YAML reading that keeps line numbers, rejects duplicate keys and bounds alias expansion.

Mappings and sequences come back as ``YDict`` / ``YList``: plain containers that also remember the line
of each key or item, so that later errors can point at the line the user wrote.
"""
from __future__ import annotations

from typing import Any

import yaml

from .errors import SpecError

MAX_NODES = 2_000_000  # expanded node count; bounds "billion laughs" alias bombs

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YDict(dict):
    """A mapping that knows its own line and the line of each key."""

    line: int = 0
    lines: dict[Any, int]


class YList(list):
    """A sequence that knows its own line and the line of each item."""

    line: int = 0
    lines: list[int]


def line_of(container: Any, key: Any = None) -> int | None:
    """The line of ``container[key]`` (or of the container itself) when it came from YAML."""
    if key is not None:
        if isinstance(container, YDict):
            return container.lines.get(key) or container.line
        if isinstance(container, YList) and isinstance(key, int) and 0 <= key < len(container.lines):
            return container.lines[key]
    return getattr(container, "line", None) or None


class _Loader(_Base):  # type: ignore[misc, valid-type]
    file = "<spec>"


def _mapping(loader: _Loader, node: yaml.MappingNode) -> YDict:
    # Keys merged in with ``<<: *base`` come first and may be overridden by the mapping's own keys (YAML's
    # merge semantics); only a key written twice in the mapping itself is a duplicate.
    own = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
    loader.flatten_mapping(node)
    out = YDict()
    out.line = node.start_mark.line + 1
    out.lines = {}
    written: set[Any] = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise SpecError("a mapping key must be a plain value", file=loader.file, line=line) from None
        if key in written:
            raise SpecError(f"duplicate key {key!r}", file=loader.file, line=line,
                            hint=f"it was already set on line {out.lines[key]}; keep one")
        if id(key_node) in own:
            written.add(key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> YList:
    out = YList(loader.construct_object(item, deep=True) for item in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [item.start_mark.line + 1 for item in node.value]
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)


def _expanded_size(root: yaml.Node) -> int:
    """Node count with every alias expanded, computed without expanding anything."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(c), 1) for c in children)
        sizes[id(node)] = total
        if total > MAX_NODES:
            return total
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_yaml(text: str, file: str = "<spec>") -> Any:
    """Parse one YAML document safely; errors become a one-line ``SpecError`` with file and line."""
    loader = _Loader(text)
    loader.file = file
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_NODES:
            raise SpecError(f"the YAML expands to more than {MAX_NODES:,} nodes", file=file,
                            line=node.start_mark.line + 1, hint="aliases (*name) may not be nested this deeply")
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        hint = "check indentation, colons and brackets on this line"
        opened = e.context_mark if e.context and e.context.startswith(("while parsing a flow",
                                                                          "while scanning a quoted")) else None
        if opened and (mark is None or mark.index >= len(text.rstrip())):
            # the file ended inside an open bracket or quote: point at where it was opened, not past the end
            mark = opened
            hint = "a bracket or quote opened on this line is never closed"
        elif opened and mark and opened.line != mark.line:
            hint = f"is a bracket or quote opened on line {opened.line + 1} not closed?"
        line = mark.line + 1 if mark else None
        problem = e.problem or e.context or "invalid YAML"
        raise SpecError(f"YAML syntax error: {problem}", file=file, line=line, hint=hint) from None
    except yaml.YAMLError as e:
        raise SpecError(f"YAML error: {' '.join(str(e).split())}", file=file) from None
    except RecursionError:
        raise SpecError("the YAML is nested too deeply", file=file) from None
    except (ValueError, OverflowError) as e:  # a value its tag cannot hold: !!int abc, 2020-13-01, 5000 digits
        problem = "an integer has too many digits" if "digits" in str(e) else " ".join(str(e).split())
        raise SpecError(f"YAML error: {problem}", file=file, hint="quote the value if it is meant as text") from None
    finally:
        loader.dispose()
