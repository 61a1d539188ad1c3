"""YAML loading that remembers where every key and value was written.

PyYAML's node tree carries line and column marks; the plain ``safe_load`` drops them. Here
the document is composed into nodes, converted to Python data by ``safe_load``'s own
constructor, and a map ``key path -> (line, column)`` is built beside it, so a validation
error on ``physics.blood.viscosity`` can be reported at the line where it was written.
Duplicate keys, which PyYAML silently merges, are reported as errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]


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


def load_yaml_with_positions(text: str, name: str = "<string>") -> PositionedDocument:
    """Parse one YAML document; raise :class:`YamlSyntaxError` with a position on bad YAML."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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
    doc = PositionedDocument(data=data)
    _walk(node, (), doc)
    return doc


def read_yaml_with_positions(path: Path) -> PositionedDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise YamlSyntaxError("not UTF-8 text", Position(1, 1)) from None
    return load_yaml_with_positions(text, str(path))
