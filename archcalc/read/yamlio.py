"""Safe YAML reading that keeps line numbers, rejects duplicate keys, merges ``<<`` keys by YAML's rule,
and bounds nesting depth and node count (aliases expanded) as the parser's events come in.

Mappings and sequences come back as ``YDict`` / ``YList``: plain containers that also remember the line
of each key or item, so that later errors can point at the line the user wrote.
"""
from __future__ import annotations

from typing import Any

import yaml

from ..core.errors import SpecError

MAX_NODES = 2_000_000  # expanded node count; bounds "billion laughs" alias bombs
MAX_COLLECTIONS = 200_000  # mappings and lists written (each holds memory): 10 per layer at 20,000 layers
MAX_DEPTH = 100  # levels of nested mappings and lists; the zoo's deepest spec has 11

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YDict(dict):
    """A mapping that knows its own line and the line of each key (slots: a third of the memory)."""

    __slots__ = ("line", "lines")
    line: int
    lines: dict[Any, int]


class YList(list):
    """A sequence that knows its own line and the line of each item."""

    __slots__ = ("line", "lines")
    line: int
    lines: list[int]


def line_of(container: Any, key: Any = None) -> int | None:
    """The line of ``container[key]`` (or of the container itself) when it came from YAML."""
    lines = getattr(container, "lines", None)
    if key is not None and lines is not None:
        if isinstance(container, YDict):
            return lines.get(key) or getattr(container, "line", None) or None
        if isinstance(container, YList) and isinstance(key, int) and 0 <= key < len(lines):
            return lines[key]
    return getattr(container, "line", None) or None


_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"  # the key ``=``, read as text as PyYAML does
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_NO_KEY: Any = object()
_IMMUTABLE = (str, int, float, bool, type(None))


class _Open:
    """A mapping or list whose end event has not come yet."""

    __slots__ = ("value", "anchor", "start", "height", "key", "key_line", "merges")

    def __init__(self, value: YDict | YList, anchor: str | None, start: int) -> None:
        self.value = value
        self.anchor = anchor
        self.start = start  # the node count before this collection
        self.height = 1  # levels of nesting, this one included
        self.key: Any = _NO_KEY  # a mapping's key waiting for its value
        self.key_line = 0
        self.merges: list[YDict] = []  # maps merged in with <<, in the order written


class _Builder:
    """Python values straight from the parser's events, with no recursion and no node graph.

    libyaml's parser keeps its own stacks on the heap; its composer and PyYAML's constructor recurse once
    per level, which overflowed the C stack on 10**5 nested brackets. Here nesting is bounded as it is read
    (aliases included: ``[*deep]`` is as deep as what it names), and so is the node count with every alias
    expanded (``billion laughs``), so nothing later can recurse or allocate without bound.
    """

    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.file = file
        self.nodes = 0  # nodes read so far, each alias counted as the whole of what it names
        self.collections = 0  # mappings and lists read (aliases not counted: they share)
        self.anchors: dict[str, tuple[Any, int, int, int]] = {}  # name -> (value, nodes, height, line)
        self.open_anchors: set[str] = set()
        self.plain: dict[tuple[str, Any], tuple[str, Any]] = {}  # (text, implicit) -> (tag, value)

    def error(self, message: str, line: int, hint: str | None = None) -> SpecError:
        return SpecError(message, file=self.file, line=line, hint=hint)

    def document(self) -> Any:
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # document start
        value = self.node()
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            raise self.error("expected a single document in the stream, but found another document",
                             event.start_mark.line + 1, "remove the --- line, or keep one document")
        return value

    def node(self) -> Any:
        stack: list[_Open] = []
        get = self.loader.get_event
        while True:
            event = get()
            kind = type(event)
            line = event.start_mark.line + 1
            if kind is yaml.ScalarEvent:
                value, height = self.scalar(event, stack[-1] if stack else None), 0
                self.count(1, line)
                if event.anchor is not None:
                    self.define(event.anchor, line)
                    self.anchors[event.anchor] = (value, 1, 0, line)
            elif kind is yaml.AliasEvent:
                value, size, height, defined = self.alias(event, line)
                self.count(size, line)
                if len(stack) + height > MAX_DEPTH:
                    raise self.error(f"the YAML is nested more than {MAX_DEPTH} levels deep", line,
                                     f"*{event.anchor} is as deep as what it names")
                line = defined  # an item given by an alias is located where its anchor is
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                is_map = kind is yaml.MappingStartEvent
                self.collection_tag(event, is_map, line)
                if len(stack) >= MAX_DEPTH:
                    raise self.error(f"the YAML is nested more than {MAX_DEPTH} levels deep", line,
                                     "flatten the lists and mappings of this line")
                self.collections += 1
                if self.collections > MAX_COLLECTIONS:
                    raise self.error(f"the YAML holds more than {MAX_COLLECTIONS:,} mappings and lists", line,
                                     "a spec is far smaller; write repeat: for repeated layers")
                container: YDict | YList = YDict() if is_map else YList()
                container.line = line
                container.lines = {} if is_map else []
                if event.anchor is not None:
                    self.define(event.anchor, line)
                    self.open_anchors.add(event.anchor)
                stack.append(_Open(container, event.anchor, self.nodes))
                self.count(1, line)
                continue
            else:  # the end of the innermost collection
                done = stack.pop()
                value, height, line = self.close(done), done.height, done.value.line
                if done.anchor is not None:
                    self.open_anchors.discard(done.anchor)
                    self.anchors[done.anchor] = (value, self.nodes - done.start, height, line)
            if not stack:
                return value
            self.add(stack[-1], value, height, line)

    def count(self, size: int, line: int) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES:
            raise self.error(f"the YAML expands to more than {MAX_NODES:,} nodes", line,
                             "aliases (*name) may not be nested this deeply" if size > 1 else
                             "a spec is far smaller; write repeat: for repeated layers")

    def define(self, name: str, line: int) -> None:
        if name in self.anchors or name in self.open_anchors:
            raise self.error(f"the anchor &{name} is defined twice", line, "give each anchor its own name")

    def alias(self, event: Any, line: int) -> tuple[Any, int, int, int]:
        name = event.anchor
        if name in self.open_anchors:
            raise self.error(f"the alias *{name} is inside the collection it names", line,
                             "a value cannot contain itself")
        if name not in self.anchors:
            raise self.error(f"the alias *{name} names no anchor", line, f"define &{name} before using it")
        return self.anchors[name]

    def collection_tag(self, event: Any, is_map: bool, line: int) -> None:
        tag = event.tag
        if tag is not None and tag != "!" and tag != (_MAP if is_map else _SEQ):
            raise self.error(f"YAML error: the tag {tag!r} is not supported", line,
                             "a spec uses plain mappings and lists")

    def scalar(self, event: Any, parent: _Open | None) -> Any:
        tag = event.tag
        plain = tag is None or tag == "!"
        if plain:  # a repeated plain scalar ("1", "relu", "true") is resolved and built once, and shared
            known = self.plain.get((event.value, event.implicit))
            if known is not None:
                return known[1]
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == "tag:yaml.org,2002:str":
            value = event.value
        elif parent is not None and type(parent.value) is YDict and parent.key is _NO_KEY and tag in (_MERGE, _VALUE):
            return _MERGE_KEY if tag == _MERGE else event.value
        else:
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
            constructors = self.loader.yaml_constructors
            value = (constructors.get(tag) or constructors[None])(self.loader, node)
        if plain and len(self.plain) < 4096 and len(event.value) < 64 and type(value) in _IMMUTABLE:
            self.plain[event.value, event.implicit] = (tag, value)
        return value

    def add(self, parent: _Open, value: Any, height: int, line: int) -> None:
        if height >= parent.height:
            parent.height = height + 1
        container = parent.value
        if type(container) is YList:
            container.append(value)
            container.lines.append(line)
            return
        if parent.key is _NO_KEY:
            try:
                hash(value)
            except TypeError:
                raise self.error("a mapping key must be a plain value", line) from None
            if value in container.lines:  # only the mapping's own keys are there; merged ones come at the end
                raise self.error(f"duplicate key {value!r}", line,
                                 f"it was already set on line {container.lines[value]}; keep one")
            parent.key, parent.key_line = value, line
            return
        key, parent.key = parent.key, _NO_KEY
        container.lines[key] = parent.key_line
        if key is _MERGE_KEY:
            merged = [value] if type(value) is YDict else value if type(value) is YList else None
            if merged is None or not all(type(m) is YDict for m in merged):
                raise self.error("a merge key (<<) takes a mapping or a list of mappings", parent.key_line,
                                 "write <<: *name or <<: [*a, *b]")
            parent.merges.extend(merged)
        else:
            container[key] = value

    @staticmethod
    def close(done: _Open) -> Any:
        own = done.value
        if type(own) is YList or _MERGE_KEY not in own.lines:
            return own
        # YAML's merge keys: own keys override merged ones, and of several merged maps the first that
        # sets a key wins (https://yaml.org/type/merge.html). Written here, not left to PyYAML, whose
        # releases disagree on the order.
        out = YDict()
        out.line, out.lines = own.line, {}
        for source in done.merges:
            for key, value in source.items():
                if key not in out:
                    out[key] = value
                    out.lines[key] = source.lines.get(key, source.line)
        for key, value in own.items():
            out[key] = value
            out.lines[key] = own.lines[key]
        return out


class _MergeKey:
    """The key ``<<``, held apart from the mapping's own keys."""

    def __repr__(self) -> str:
        return "'<<'"


_MERGE_KEY: Any = _MergeKey()


def load_yaml(text: str, file: str = "<spec>") -> Any:
    """Parse one YAML document safely; errors become a one-line ``SpecError`` with file and line."""
    loader = _Base(text)
    try:
        return _Builder(loader, file).document()
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
    except (ValueError, OverflowError) as e:  # a value its tag cannot hold: !!int abc, 2020-13-01, 5000 digits
        problem = "an integer has too many digits" if "digits" in str(e) else " ".join(str(e).split())
        raise SpecError(f"YAML error: {problem}", file=file, hint="quote the value if it is meant as text") from None
    finally:
        loader.dispose()
