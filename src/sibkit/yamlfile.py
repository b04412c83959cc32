"""Reading the YAML files a person writes (study files, codebooks): syntax errors explained in words,
naming the line where the mistake is, not the parser's token names."""

from __future__ import annotations

from typing import Any

import yaml

from sibkit.errors import SibkitError

MAX_DEPTH = 100


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


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML a person wrote; any problem is one ``SibkitError`` line starting with ``source``."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SibkitError(f"{source}: {explain(exc, text)}") from None
    except RecursionError:
        raise SibkitError(f"{source}: nested more than {MAX_DEPTH} levels deep") from None
    if _depth(value, MAX_DEPTH) > MAX_DEPTH:
        raise SibkitError(f"{source}: nested more than {MAX_DEPTH} levels deep")
    return value
