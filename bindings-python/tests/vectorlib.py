"""The shared behaviour vectors' matcher (tests/vectors/README.md), in Python, and the check
of usage events against the collector's contract (schema/usage-event.schema.json)."""

from __future__ import annotations

import functools
import json
import math
from datetime import datetime
from typing import Any

from conftest import REPO


class Mismatch(AssertionError):
    pass


def matches(expected: Any, actual: Any, path: str = "result") -> None:
    """Raises :class:`Mismatch` when ``actual`` does not match ``expected``."""
    if isinstance(expected, dict):
        if expected and all(k.startswith("$") for k in expected):
            for name, arg in expected.items():
                _matcher(name, arg, actual, path)
            return
        if not isinstance(actual, dict):
            raise Mismatch(f"{path}: expected an object, got {actual!r}")
        for k, v in expected.items():
            if k in actual:
                matches(v, actual[k], f"{path}.{k}")
            elif not (isinstance(v, dict) and "$absent" in v):
                raise Mismatch(f"{path}.{k}: missing (expected {v!r})")
        return
    if isinstance(expected, list):
        if not isinstance(actual, list):
            raise Mismatch(f"{path}: expected a list, got {actual!r}")
        if len(expected) != len(actual):
            raise Mismatch(f"{path}: expected {len(expected)} items, got {len(actual)}: {actual!r}")
        for i, (x, y) in enumerate(zip(expected, actual)):
            matches(x, y, f"{path}[{i}]")
        return
    if _is_number(expected) and _is_number(actual):
        if not math.isclose(expected, actual, rel_tol=1e-6, abs_tol=1e-6):
            raise Mismatch(f"{path}: expected {expected!r}, got {actual!r}")
        return
    if expected != actual or type(expected) is bool and type(actual) is not bool:
        raise Mismatch(f"{path}: expected {expected!r}, got {actual!r}")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _matcher(name: str, arg: Any, actual: Any, path: str) -> None:
    def texts(a: Any) -> list[str]:
        return a if isinstance(a, list) else [a]

    if name == "$prefix":
        ok = isinstance(actual, str) and actual.startswith(arg)
    elif name == "$contains":
        ok = isinstance(actual, str) and all(t in actual for t in texts(arg))
    elif name == "$excludes":
        ok = isinstance(actual, str) and all(t not in actual for t in texts(arg))
    elif name == "$gte":
        ok = _is_number(actual) and actual >= arg
    elif name == "$lte":
        ok = _is_number(actual) and actual <= arg
    elif name == "$len":
        if not isinstance(actual, (list, str, dict)):
            raise Mismatch(f"{path}: $len of {actual!r}")
        if isinstance(arg, dict):
            matches(arg, len(actual), f"{path}.length")
            return
        ok = len(actual) == arg
    elif name == "$exists":
        ok = (actual is not None) == bool(arg)
    elif name == "$absent":
        ok = actual is None
    else:
        raise Mismatch(f"{path}: unknown matcher {name}")
    if not ok:
        raise Mismatch(f"{path}: {name} {arg!r} does not hold for {actual!r}")


@functools.cache
def _usage_validator() -> Any:
    import jsonschema

    schema = json.loads((REPO / "schema" / "usage-event.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def usage_schema_errors(events: list[dict[str, Any]]) -> list[str]:
    """Why each event breaks the usage-event JSON Schema (and ``ts`` is not an RFC 3339
    time, a format the validator leaves unchecked); ``[]`` when every event is valid."""
    problems = []
    for i, event in enumerate(events):
        for error in _usage_validator().iter_errors(event):
            problems.append(f"event {i}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
        try:
            datetime.fromisoformat(str(event.get("ts")).replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"event {i}: ts {event.get('ts')!r} is not an RFC 3339 time")
    return problems


def _merged(base: Any, over: Any) -> Any:
    """`over` laid on `base`: objects merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merged(base.get(k), v)
        return out
    return over


def expand_providers(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A case with `providers` ({label: overrides}) runs once per label, named
    `name[label]`, with the label's overrides merged over the case."""
    out: list[dict[str, Any]] = []
    for case in cases:
        if "providers" not in case:
            out.append(case)
            continue
        base = {k: v for k, v in case.items() if k != "providers"}
        for label, over in case["providers"].items():
            c = _merged(base, over)
            c["name"] = f"{case['name']}[{label}]"
            out.append(c)
    return out
