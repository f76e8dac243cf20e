"""Reading protocol YAML: duplicate keys refused, and pydantic errors as one line each.

Every error names the file, the field's dotted path and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from blinasim.errors import ProtocolError


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError("a readable UTF-8 YAML file", file=path, got=str(exc)) from None
    return _parse_yaml(text, str(path))


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key written twice in one mapping.

    Keys brought in by a merge (``<<: *anchor``) may be overridden; keys written twice are
    a mistake (plain YAML silently keeps the last one).
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                key_node, yaml.ScalarNode
            ):
                continue
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key_node.value!r}",
                    key_node.start_mark,
                )
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        problem = getattr(exc, "problem", None)
        what = f"valid YAML ({' '.join(str(problem).split())})" if problem else "valid YAML"
        raise ProtocolError(what, file=origin, field=where) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # e.g. a timestamp such as 2020-02-30 that YAML reads as an impossible date
        raise ProtocolError("valid YAML", file=origin, field="document", got=str(exc)) from None
    if not isinstance(doc, dict):
        raise ProtocolError("a YAML mapping (a protocol)", file=origin, got=type(doc).__name__)
    return doc


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _expected(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    msg = str(err.get("msg", "a valid value"))
    if kind == "greater_than_equal":
        return f"a number >= {ctx.get('ge')}"
    if kind == "greater_than":
        return f"a number > {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"a number <= {ctx.get('le')}"
    if kind == "less_than":
        return f"a number < {ctx.get('lt')}"
    if kind == "missing":
        return "this field (it is required)"
    if kind == "extra_forbidden":
        return "no unknown field"
    if kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    if kind == "finite_number":
        return "a finite number"
    for prefix in ("Value error, ", "Input should be ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return " ".join(msg.split())


def _from_validation(exc: ValidationError, file: str, prefix: str = "") -> ProtocolError:
    err = exc.errors(include_url=False)[0]
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    field = _loc(loc)
    if prefix:
        field = f"{prefix}.{field}" if field else prefix
    kind = err.get("type")
    got: object
    if kind == "missing":
        got = None
    elif kind == "extra_forbidden":
        got = f"unknown field {loc[-1]!r}" if loc else "unknown field"
    else:
        got = err.get("input")
        if isinstance(got, dict | list):
            got = type(got).__name__
    return ProtocolError(_expected(err), file=file, field=field or "<top>", got=got)


# --------------------------------------------------------------------------------------
# flattening: include / extends / edits -> an arm as a plain list of phase specs
