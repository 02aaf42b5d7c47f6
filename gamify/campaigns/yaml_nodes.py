"""Read YAML as plain values that remember where they were written.

Campaign files come from people, so they are untrusted: nothing here constructs objects from
tags (only YAML's own null/bool/int/float/str/timestamp, lists and mappings), and aliases are
expanded under a budget so a few lines cannot grow into a billion nodes. Positions and field
paths travel with every value because a mistake is only useful to a marketer as
``FILE:LINE:COL: field.path``. Problems are returned, not raised, so a caller can add its own
findings and report them all at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gamify.core.errors import ConfigIssue

MAX_NODES = 10_000
"""Values allowed after expanding aliases: far above any campaign, far below an alias bomb."""
MAX_DEPTH = 64
MAX_BYTES = 1_000_000

Scalar = None | bool | int | float | str

_STD = "tag:yaml.org,2002:"
_SCALAR_KINDS = {f"{_STD}{kind}": kind for kind in ("null", "bool", "int", "float", "str")}
_SCALAR_KINDS[f"{_STD}timestamp"] = "timestamp"
# `=` and `<<` resolve to these tags when used as values; YAML means plain text there.
_SCALAR_KINDS[f"{_STD}value"] = "str"
_SCALAR_KINDS[f"{_STD}merge"] = "str"
_MERGE = f"{_STD}merge"
_CONSTRUCTOR = SafeConstructor()


@dataclass(frozen=True, eq=False)
class Located:
    """One YAML value with its 1-based position and its field path (``prizes[2].weight``).

    ``kind`` is the YAML type a marketer would name: null, bool, int, float, str, timestamp,
    list or mapping; ``invalid`` marks a value already reported (a refused tag, say), which
    callers skip silently so one mistake is not reported twice. ``text`` is a scalar's source
    text, kept so decimals and date-times are read exactly as written, not via float/datetime.
    """

    kind: str
    line: int
    column: int
    path: str
    scalar: Scalar = None
    text: str = ""
    items: tuple[Located, ...] = ()
    entries: Mapping[str, Located] = field(default_factory=dict)
    keys: Mapping[str, Located] = field(default_factory=dict)

    def plain(self) -> Any:
        """Plain Python data (dicts, lists, scalars; timestamps as their text), for JSON tools."""
        if self.kind == "mapping":
            return {key: value.plain() for key, value in self.entries.items()}
        if self.kind == "list":
            return [item.plain() for item in self.items]
        if self.kind == "timestamp":
            return self.text
        return self.scalar


def join(path: str, key: str) -> str:
    """The field path of ``key`` inside the mapping at ``path``."""
    return f"{path}.{key}" if path else key


def parse_yaml(data: bytes | str, file: str) -> tuple[Located | None, list[ConfigIssue]]:
    """The document in ``data`` and every problem found reading it.

    The value is None when nothing usable could be read (syntax error, not UTF-8, empty, too
    large); otherwise problems such as duplicate keys come back alongside the value.
    """
    if len(data) > MAX_BYTES:
        return None, [ConfigIssue(file, 1, 1, "", f"file is larger than {MAX_BYTES} bytes")]
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line, column = _position(data[: exc.start].decode("utf-8", "replace"))
            issue = ConfigIssue(file, line, column, "", "file is not valid UTF-8 text")
            return None, [issue]
    else:
        text = data
    if not text.strip():
        return None, [ConfigIssue(file, 1, 1, "", "file is empty")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        context = f" ({exc.context})" if exc.context else ""
        message = f"YAML syntax error: {exc.problem}{context}"
        return None, [ConfigIssue(file, line, column, "", message)]
    except yaml.reader.ReaderError as exc:
        line, column = _position(text[: exc.position])
        got = repr(chr(exc.character)) if isinstance(exc.character, int) else None
        return None, [ConfigIssue(file, line, column, "", "character not allowed in YAML", got)]
    except yaml.YAMLError as exc:
        return None, [ConfigIssue(file, 1, 1, "", f"YAML error: {exc}")]
    except RecursionError:
        return None, [ConfigIssue(file, 1, 1, "", "nested too deeply")]
    if root is None:
        return None, [ConfigIssue(file, 1, 1, "", "file is empty (only comments)")]
    walker = _Walker(file)
    try:
        return walker.walk(root, "", 0), walker.issues
    except _TooLarge as exc:
        message = f"more than {MAX_NODES} values once aliases are expanded (an alias bomb?)"
        return None, [walker.issue(exc.node, exc.path, message)]


def _position(before: str) -> tuple[int, int]:
    """1-based line and column just after ``before``."""
    lines = before.split("\n")
    return len(lines), len(lines[-1]) + 1


class _TooLarge(Exception):
    def __init__(self, node: Node, path: str) -> None:
        self.node = node
        self.path = path


def _at(node: Node) -> tuple[int, int]:
    """1-based line and column where ``node`` starts (PyYAML counts from 0)."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix(_STD) if tag.startswith(_STD) else tag


class _Walker:
    """Expands the composed node graph into :class:`Located` values, counting as it goes."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[ConfigIssue] = []
        self.count = 0
        self.open: set[int] = set()

    def issue(self, node: Node, path: str, message: str, got: str | None = None) -> ConfigIssue:
        found = ConfigIssue(self.file, *_at(node), path, message, got)
        self.issues.append(found)
        return found

    def invalid(self, node: Node, path: str) -> Located:
        return Located("invalid", *_at(node), path)

    def walk(self, node: Node, path: str, depth: int) -> Located:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge(node, path)
        if depth > MAX_DEPTH:
            self.issue(node, path, f"nested more than {MAX_DEPTH} levels deep")
            return self.invalid(node, path)
        if id(node) in self.open:
            self.issue(node, path, "alias refers to a value that contains it (recursive alias)")
            return self.invalid(node, path)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        self.open.add(id(node))
        try:
            if isinstance(node, SequenceNode) and node.tag == f"{_STD}seq":
                items = tuple(
                    self.walk(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node.value)
                )
                return Located("list", *_at(node), path, items=items)
            if isinstance(node, MappingNode) and node.tag == f"{_STD}map":
                return self.mapping(node, path, depth)
        finally:
            self.open.discard(id(node))
        self.issue(node, path, "YAML tag not allowed; write plain values", _tag_name(node.tag))
        return self.invalid(node, path)

    def scalar(self, node: ScalarNode, path: str) -> Located:
        kind = _SCALAR_KINDS.get(node.tag)
        if kind is None:
            self.issue(node, path, "YAML tag not allowed; write plain values", _tag_name(node.tag))
            return self.invalid(node, path)
        value: Scalar
        try:
            if kind == "null":
                _CONSTRUCTOR.construct_yaml_null(node)
                value = None
            elif kind == "bool":
                value = _CONSTRUCTOR.construct_yaml_bool(node)
            elif kind == "int":
                value = _CONSTRUCTOR.construct_yaml_int(node)
            elif kind == "float":
                value = _CONSTRUCTOR.construct_yaml_float(node)
            else:  # timestamps too: callers read them from the text, with their own rules
                value = str(node.value)
        except Exception:  # any failure converting untrusted text is the file's mistake
            got = repr(str(node.value))[:40]
            self.issue(node, path, f"not a valid {_tag_name(node.tag)} value", got)
            return self.invalid(node, path)
        return Located(kind, *_at(node), path, scalar=value, text=str(node.value))

    def mapping(self, node: MappingNode, path: str, depth: int) -> Located:
        entries: dict[str, Located] = {}
        keys: dict[str, Located] = {}
        merged: dict[str, tuple[Located, Located]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self.merge(value_node, path, depth, merged)
                continue
            if not isinstance(key_node, ScalarNode):
                self.issue(key_node, path, "keys must be plain text, not a list or mapping")
                continue
            key = str(key_node.value)
            child = join(path, key)
            if key_node.tag not in _SCALAR_KINDS:
                self.issue(key_node, child, "YAML tag not allowed; write plain values")
                continue
            if key in keys:
                first = keys[key].line
                self.issue(key_node, child, f"duplicate key (first written on line {first})")
                continue
            keys[key] = Located("str", *_at(key_node), child, scalar=key, text=key)
            entries[key] = self.walk(value_node, child, depth + 1)
        for key, (key_at, value) in merged.items():
            if key not in entries:
                keys[key], entries[key] = key_at, value
        return Located("mapping", *_at(node), path, entries=entries, keys=keys)

    def merge(
        self, node: Node, path: str, depth: int, into: dict[str, tuple[Located, Located]]
    ) -> None:
        """YAML merge keys (``<<: *defaults``): earlier sources win, explicit keys win over all."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, MappingNode):
                self.issue(source, path, "`<<` must merge a mapping or a list of mappings")
                continue
            merged = self.walk(source, path, depth + 1)
            for key, value in merged.entries.items():
                into.setdefault(key, (merged.keys[key], value))
