"""Reading the YAML files a person writes (study files, codebooks): syntax errors explained in words,
naming the line where the mistake is, not the parser's token names.

YAML from elsewhere (a study file sent by a colleague, the theme block inside a REFI-QDA code) is
treated as hostile: a key given twice in one mapping is refused with its line (PyYAML would keep the
last value silently), and the parsed value is measured once per distinct node, so aliases that
would expand to more than :data:`MAX_VALUES` values (an alias bomb: 9 levels of 9 aliases is 387
million) or that refer to themselves are refused at once instead of being walked.
"""

from __future__ import annotations

from typing import Any

import yaml

from sibkit.errors import SibkitError

MAX_DEPTH = 100
#: the most values (scalars, lists and mappings, counted as if every alias were written out) a file may hold
MAX_VALUES = 1_000_000


_BOOL, _STR = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:str"


class _NoRepeatedKeys:
    """For PyYAML's safe loaders: a key given twice in one mapping is refused (merged ``<<`` keys may be
    overridden); a plain key that YAML 1.1 reads as a boolean (``on:``, ``no:``) is kept as the word written,
    so a mistyped key is named as the person wrote it."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if key_node.tag == _BOOL and isinstance(key_node, yaml.ScalarNode) and not key_node.style:
                key_node.tag = _STR  # a key written on, off, yes or no stays that word, not true/false
            key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the base class explains it
                break
            if repeated:
                raise _RepeatedKey(key, _line(key_node.start_mark))
            seen[key] = 1
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _StrictLoader(_NoRepeatedKeys, yaml.SafeLoader):
    pass


if getattr(yaml, "__with_libyaml__", False):
    class _FastStrictLoader(_NoRepeatedKeys, yaml.CSafeLoader):  # type: ignore[misc,name-defined]
        pass
else:  # pragma: no cover - PyYAML built without libyaml
    _FastStrictLoader = _StrictLoader  # type: ignore[misc]


class _RepeatedKey(Exception):
    def __init__(self, key: Any, line: int | None) -> None:
        super().__init__(key, line)
        self.key, self.line = key, line


class _TooLarge(Exception):
    pass


class _Cycle(Exception):
    pass


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


def explain(error: yaml.YAMLError, text: str) -> str:
    """What is wrong, in words, with the line it starts on."""
    problem = str(getattr(error, "problem", "") or error)
    context = str(getattr(error, "context", "") or "")
    line = _line(getattr(error, "problem_mark", None))
    opened = _line(getattr(error, "context_mark", None))
    lines = text.splitlines()
    if "'\\t'" in problem or "\\t" in problem:
        tab_line = next((n for n, row in enumerate(lines, 1) if row[: len(row) - len(row.lstrip())].count("\t")),
                        line)
        return f"line {tab_line} starts with a tab; indent with spaces"
    if "quoted scalar" in context:
        return f"line {opened}: a quoted value is not closed (a closing quote is missing)"
    if "expected <block end>" in problem:
        return (f"line {line}: the indentation does not line up with line {opened} above it "
                "(entries of one list or mapping start in the same column)")
    if "flow node" in context:
        return f"line {line}: a list or mapping opened with '[' or '{{' holds something it cannot (e.g. '- ')"
    if "flow sequence" in context or "flow mapping" in context:
        bracket = "[" if "sequence" in context else "{"
        closing = "]" if bracket == "[" else "}"
        return f"line {opened}: a '{bracket}' is not closed with '{closing}' (or an item inside it is not valid)"
    if "mapping values are not allowed" in problem:
        return (f"line {line}: unexpected ':' (is a ':' missing on the line above, is this line indented "
                "wrongly, or does a value need quotes because it contains ': '?)")
    if "could not find expected ':'" in problem:
        return f"line {line}: expected 'key: value' (a ':' is missing, or the line is indented wrongly)"
    if "did not find expected key" in problem or "did not find expected '-'" in problem:
        return f"line {line}: the indentation does not line up with the entries above it"
    if "found character" in problem and "cannot start any token" in problem:
        return f"line {line}: {problem.replace('found character', 'the character')}; put the value in quotes"
    if "found undefined alias" in problem or "found unhashable key" in problem:
        return f"line {line}: {problem}"
    where = f"line {line}" if line else "the file"
    return f"{where}: not valid YAML ({problem})"


def _measure(value: Any, depth_limit: int, size_limit: int) -> tuple[int, int]:
    """(depth, values once every alias is expanded) of a parsed document, visiting each distinct list
    and mapping once (aliases share one object: a bomb has few distinct nodes). Raises ``_TooLarge``
    past either limit and ``_Cycle`` for a node that contains itself."""
    measured: dict[int, tuple[int, int]] = {}  # id of a list or mapping -> (depth, expanded size)
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, children_done = stack.pop()
        if not isinstance(item, dict | list):
            continue
        key = id(item)
        children = list(item.values()) if isinstance(item, dict) else item
        if children_done:
            depth, size = 1, 1
            for child in children:
                child_depth, child_size = measured.get(id(child), (0, 1)) if isinstance(child, dict | list) \
                    else (0, 1)
                depth, size = max(depth, child_depth + 1), size + child_size
            open_nodes.discard(key)
            if depth > depth_limit or size > size_limit:
                raise _TooLarge(depth > depth_limit)
            measured[key] = (depth, size)
            continue
        if key in measured:
            continue
        if key in open_nodes:
            raise _Cycle()
        open_nodes.add(key)
        if len(open_nodes) > depth_limit:
            raise _TooLarge(True)
        stack.append((item, True))
        for child in children:
            if isinstance(child, dict | list):
                if id(child) in open_nodes:
                    raise _Cycle()
                if id(child) not in measured:
                    stack.append((child, False))
    return measured.get(id(value), (0, 1)) if isinstance(value, dict | list) else (0, 1)


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML a person wrote; any problem is one ``SibkitError`` line starting with ``source``."""
    try:
        try:  # libyaml's parser when PyYAML has it (a study of 20,000 steps reads in a second)
            value = yaml.load(text, Loader=_FastStrictLoader)
        except yaml.YAMLError:  # read again by the Python parser, whose messages ``explain`` knows
            value = yaml.load(text, Loader=_StrictLoader)
        _measure(value, MAX_DEPTH, MAX_VALUES)
    except yaml.YAMLError as exc:
        raise SibkitError(f"{source}: {explain(exc, text)}") from None
    except _RepeatedKey as exc:
        raise SibkitError(f"{source}: line {exc.line}: the key {exc.key!r} is given twice in one mapping "
                          "(the later value would silently replace the earlier one)") from None
    except _Cycle:
        raise SibkitError(f"{source}: an alias (*name) refers to itself or to a value that contains it") from None
    except _TooLarge as exc:
        if exc.args and exc.args[0]:
            raise SibkitError(f"{source}: nested more than {MAX_DEPTH} levels deep") from None
        raise SibkitError(f"{source}: its aliases (*name) expand to more than {MAX_VALUES:,} values "
                          "(an alias bomb?); refused") from None
    except RecursionError:
        raise SibkitError(f"{source}: nested more than {MAX_DEPTH} levels deep") from None
    return value
