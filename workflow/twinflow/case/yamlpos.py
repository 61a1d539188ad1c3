"""YAML loading that remembers where every key and value was written.

PyYAML's node tree carries line and column marks; the plain ``safe_load`` drops them. Here
the document is composed into nodes, converted to Python data by ``safe_load``'s own
constructor, and a map ``key path -> (line, column)`` is built beside it, so a validation
error on ``physics.blood.viscosity`` can be reported at the line where it was written.
Duplicate keys, which PyYAML silently merges, are reported as errors. YAML merge keys (``<<``)
work as YAML 1.1 defines them (positions are read before the merge rewrites the nodes).

**Bounds** (case files come from other people's machines): a document is at most
:data:`MAX_BYTES`; the composer stops past a nesting depth of :data:`MAX_DEPTH` or
:data:`MAX_EVENTS` items, and the composed node graph is checked before any Python
object is built: an alias that refers to its own anchor (``x: &a [*a]``) is an error, and the
document with every alias expanded may hold at most :data:`MAX_NODES` nodes and nest at most
:data:`MAX_DEPTH` deep ("billion laughs"). PyYAML has no such limits of its own: its
recursive composer is stopped by the depth limit, and the graph check walks without recursion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]

#: Largest case file read (bytes): the largest shipped case is ~4 kB.
MAX_BYTES = 1 << 20
#: Deepest nesting of mappings and sequences, before and after alias expansion.
MAX_DEPTH = 32
#: Most parser events (scalars, collection starts/ends, aliases) in one document.
MAX_EVENTS = 200_000
#: Most nodes of the document with every alias expanded.
MAX_NODES = 100_000


@dataclass(frozen=True, slots=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(slots=True)
class PositionedDocument:
    """Python data of a YAML document plus the position of each key/value path."""

    data: Any
    positions: dict[Loc, Position] = field(default_factory=dict)
    key_positions: dict[Loc, Position] = field(default_factory=dict)
    duplicates: list[tuple[Loc, Position]] = field(default_factory=list)

    def position(self, loc: Loc, *, key: bool = False) -> Position:
        """Best position for ``loc``: the value (or key) itself, else its nearest parent."""
        table = self.key_positions if key else self.positions
        for n in range(len(loc), -1, -1):
            sub = loc[:n]
            if sub in table:
                return table[sub]
            if sub in self.positions:
                return self.positions[sub]
        return Position(1, 1)


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.position = position


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(node: yaml.Node, loc: Loc, doc: PositionedDocument) -> None:
    doc.positions[loc] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*loc, key)
            if key in seen:
                doc.duplicates.append((child, _mark(key_node)))
            seen.add(key)
            doc.key_positions[child] = _mark(key_node)
            _walk(value_node, child, doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*loc, i), doc)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer counts nesting and items while it builds the nodes (one pass
    over the text): past :data:`MAX_DEPTH` or :data:`MAX_EVENTS` it stops, before PyYAML's
    recursive composer can run out of stack."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = self._items = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        self._items += 1
        event = self.peek_event()
        if self._items > MAX_EVENTS:
            raise YamlSyntaxError(f"more than {MAX_EVENTS} YAML items", _event_mark(event))
        collection = isinstance(event, yaml.CollectionStartEvent)
        if collection:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise YamlSyntaxError(f"nested more than {MAX_DEPTH} levels deep",
                                      _event_mark(event))
        try:
            return super().compose_node(parent, index)
        finally:
            if collection:
                self._depth -= 1


def _event_mark(event: yaml.Event) -> Position:
    mark = event.start_mark
    return Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Aliases: no cycle, and the expanded document within MAX_NODES and MAX_DEPTH. An
    iterative depth-first walk over the node graph, each shared node counted once (memo), so
    the check costs the size of the file, not of its expansion."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            on_path.discard(key)
            if size[key] > MAX_NODES:
                raise YamlSyntaxError(f"aliases expand to more than {MAX_NODES} items",
                                      _mark(node))
            if depth[key] > MAX_DEPTH:
                raise YamlSyntaxError(f"aliases nest more than {MAX_DEPTH} levels deep",
                                      _mark(node))
            continue
        if key in size:
            continue
        on_path.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in on_path:
                raise YamlSyntaxError("an alias refers to a collection that contains it",
                                      _mark(kid))
            if id(kid) not in size:
                stack.append((kid, False))


def load_yaml_with_positions(text: str, name: str = "<string>") -> PositionedDocument:
    """Parse one YAML document; raise :class:`YamlSyntaxError` with a position on bad YAML
    or on a document beyond the bounds of the module docstring."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlSyntaxError(f"larger than {MAX_BYTES // 1024} KiB (a case file is a few kB)",
                              Position(1, 1))
    try:
        node = yaml.compose(text, Loader=_BoundedLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        pos = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        problem = err.problem or err.context or "invalid YAML"
        raise YamlSyntaxError(f"invalid YAML: {problem}", pos) from None
    except yaml.YAMLError as err:  # e.g. more than one document
        raise YamlSyntaxError(f"invalid YAML: {str(err).splitlines()[0]}", Position(1, 1)) \
            from None
    if node is None:
        return PositionedDocument(data=None)
    _check_expansion(node)
    doc = PositionedDocument(data=None)
    _walk(node, (), doc)  # before construction: a merge key rewrites its mapping's nodes
    loader = yaml.SafeLoader("")
    try:
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        pos = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        raise YamlSyntaxError(f"invalid YAML: {err.problem or 'cannot construct value'}", pos) \
            from None
    except (TypeError, ValueError) as err:  # e.g. unhashable key like {[1]: 2}
        raise YamlSyntaxError(f"invalid YAML: {err}", _mark(node)) from None
    finally:
        loader.dispose()
    doc.data = data
    return doc


def read_yaml_with_positions(path: Path) -> PositionedDocument:
    if path.stat().st_size > MAX_BYTES:  # before reading it
        raise YamlSyntaxError(f"larger than {MAX_BYTES // 1024} KiB (a case file is a few kB)",
                              Position(1, 1))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise YamlSyntaxError("not UTF-8 text", Position(1, 1)) from None
    return load_yaml_with_positions(text, str(path))
