"""Custom guardrails: checks written in Python that the core runs like its built-in rules.

A :class:`Guardrail` names a check function and when it runs; the client runs it on the texts
of its stage, after the config's rules, and applies its verdict::

    def no_codenames(check: modelplug.GuardrailInput) -> modelplug.Verdict | None:
        if any("falcon" in t for t in check.texts):
            return modelplug.Verdict.redact([t.replace("falcon", "[PROJECT]") for t in check.texts])
        return None  # pass

    client = modelplug.Client(config, guardrails=[modelplug.Guardrail("codenames", no_codenames, stage="both")])

The check returns ``None`` or ``"pass"`` (pass), ``"block"`` (the call fails with
:class:`~modelplug.GuardrailBlockedError`), ``"warn"`` (recorded only) or a :class:`Verdict`
(``Verdict.redact(texts)`` replaces every text, one replacement per input text). It may be a
coroutine function.

This module turns the check's answer into the JSON text the core reads; the native module
only passes strings (see bindings-python/src/guardrails.rs).
"""

from __future__ import annotations

import atexit

from . import _native

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~7 ms

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Sequence
    from typing import Any, Literal, Union

    Action = Literal["pass", "block", "warn", "redact"]
    Stage = Literal["input", "output", "both"]
    FailMode = Literal["open", "closed"]
    # A check's answer: a Verdict, "pass", "block", "warn" or None (`str`, not a Literal, so
    # that a check annotated `-> str | None` type-checks; another string is a TypeError).
    VerdictLike = Union["Verdict", str, None]
    Check = Callable[["GuardrailInput"], Union[VerdictLike, Awaitable[VerdictLike]]]

__all__ = ["Guardrail", "GuardrailInput", "Verdict"]

#: How much longer than its timeout a coroutine check may run on its worker thread before it
#: is cancelled (the core has given up on it at the timeout; this only frees the thread).
_ASYNC_GRACE_S = 0.25

#: How long interpreter exit waits for checks still running on worker threads (seconds).
EXIT_WAIT_S = 5.0


@atexit.register
def _stop_at_exit() -> None:
    """Refuses new checks and waits (at most :data:`EXIT_WAIT_S`, without the GIL) for the
    running ones: Python code still running on a worker thread when the interpreter finalizes
    would abort the process. Registered before ``client``'s exit hook, so it runs after it
    (``atexit`` runs hooks last-registered first): closing the clients still lets their calls
    in flight run their checks."""
    _native.stop_guardrails(EXIT_WAIT_S)


class GuardrailInput:
    """What a check is asked about: the guardrail's ``name``, the ``stage`` being checked
    (``"input"`` or ``"output"``), the ``texts`` of that stage and the ``model`` alias the call
    asked for.

    For ``input``, ``texts`` holds each message's text (system, user, assistant, tool results)
    and tool-call arguments, in order; for ``output``, the answer's text."""

    __slots__ = ("name", "stage", "texts", "model")

    def __init__(self, name: str, stage: str, texts: list[str], model: str) -> None:
        self.name = name
        self.stage = stage
        self.texts = texts
        self.model = model

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GuardrailInput) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self) -> str:
        return f"GuardrailInput(name={self.name!r}, stage={self.stage!r}, texts=<{len(self.texts)} texts>, model={self.model!r})"


class Verdict:
    """A check's answer: :meth:`pass_`, :meth:`block`, :meth:`warn` or :meth:`redact`.

    A check may also return ``None`` or ``"pass"``, ``"block"``, ``"warn"``."""

    __slots__ = ("action", "texts")

    action: Action
    texts: tuple[str, ...] | None

    def __init__(self, action: Action, texts: Iterable[str] | None = None) -> None:
        if action not in ("pass", "block", "warn", "redact"):
            raise ValueError(f"a verdict's action is 'pass', 'block', 'warn' or 'redact', not {action!r}")
        if (action == "redact") != (texts is not None):
            raise ValueError("a 'redact' verdict, and only it, carries the replacement texts")
        if isinstance(texts, str):
            raise TypeError("redact takes a list of texts (one per input text), not a string")
        self.action = action
        self.texts = None if texts is None else tuple(texts)

    @classmethod
    def pass_(cls) -> Verdict:
        """Nothing to object to (the same as returning ``None``)."""
        return cls("pass")

    @classmethod
    def block(cls) -> Verdict:
        """Stop the call: it fails with :class:`~modelplug.GuardrailBlockedError` naming the
        guardrail (never the text)."""
        return cls("block")

    @classmethod
    def warn(cls) -> Verdict:
        """Let the call go on; the outcome (on the response and the usage event) records a
        warning."""
        return cls("warn")

    @classmethod
    def redact(cls, texts: Iterable[str]) -> Verdict:
        """Go on with ``texts`` instead: one replacement per input text, in the same order
        (another count makes the check fail)."""
        return cls("redact", texts)

    def to_dict(self) -> dict[str, Any]:
        """The verdict in the core's JSON form (``{"action": ..., "texts": [...]}``)."""
        if self.texts is None:
            return {"action": self.action}
        return {"action": self.action, "texts": list(self.texts)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verdict) and (self.action, self.texts) == (other.action, other.texts)

    def __hash__(self) -> int:
        return hash((self.action, self.texts))

    def __repr__(self) -> str:
        if self.texts is None:
            return f"Verdict({self.action!r})"
        return f"Verdict('redact', <{len(self.texts)} texts>)"


class Guardrail:
    """A custom guardrail: ``check`` runs on the texts of ``stage`` (``"input"``, ``"output"``
    or ``"both"``) of every call of the client it is given to, after the config's rules.

    ``check`` gets a :class:`GuardrailInput` and returns a verdict (``None``, ``"pass"``,
    ``"block"``, ``"warn"`` or a :class:`Verdict`); it may be a plain function or a coroutine
    function. It runs on a worker thread, never on the caller's thread or event loop: a plain
    function may block; a coroutine function runs on an event loop of its own on that thread
    (so it must not use objects bound to another loop, such as the app's HTTP session).

    When the check raises, or takes longer than ``timeout_ms``, ``fail`` decides: ``"closed"``
    (the default) blocks the call, ``"open"`` lets it go on and records ``error`` as the
    outcome. Only the exception's type name is recorded, never its message. A plain function
    that overruns is not interrupted (Python cannot stop a thread): its late answer is
    discarded; a coroutine is cancelled soon after the timeout.

    A bad ``stage`` or ``fail`` is the client constructor's :class:`~modelplug.ConfigError`.
    """

    __slots__ = ("name", "check", "stage", "timeout_ms", "fail")

    def __init__(
        self,
        name: str,
        check: Check,
        *,
        stage: Stage = "input",
        timeout_ms: int = 1000,
        fail: FailMode = "closed",
    ) -> None:
        if not callable(check):
            raise TypeError(f"a guardrail's check must be callable, not {type(check).__name__}")
        if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int):
            raise TypeError(f"timeout_ms must be an int (milliseconds), not {type(timeout_ms).__name__}")
        self.name = name
        self.check = check
        self.stage = stage
        self.timeout_ms = timeout_ms
        self.fail = fail

    def __repr__(self) -> str:
        return f"Guardrail({self.name!r}, stage={self.stage!r}, timeout_ms={self.timeout_ms}, fail={self.fail!r})"


def _verdict_json(answer: object) -> str:
    """The JSON text of a check's answer; a :class:`TypeError` for anything else."""
    if answer is None or answer == "pass":
        return '{"action":"pass"}'
    if answer == "block" or answer == "warn":
        return f'{{"action":"{answer}"}}'
    if isinstance(answer, Verdict):
        import json

        return json.dumps(answer.to_dict())
    raise TypeError(
        "a guardrail check returns None, 'pass', 'block', 'warn' or a modelplug.Verdict, "
        f"not {type(answer).__name__}"
    )


async def _bounded(answer: Awaitable[object], seconds: float) -> object:
    import asyncio

    return await asyncio.wait_for(answer, seconds)


def _native_check(guardrail: Guardrail) -> Callable[[str], str]:
    """The native module's view of ``guardrail.check``: the input's JSON text in, the
    verdict's JSON text out. Called on a worker thread (with the GIL)."""
    check, grace = guardrail.check, guardrail.timeout_ms / 1000 + _ASYNC_GRACE_S

    def run(input_json: str) -> str:
        import json

        d = json.loads(input_json)
        answer: Any = check(GuardrailInput(d["name"], d["stage"], d["texts"], d["model"]))
        if hasattr(answer, "__await__"):
            import asyncio

            answer = asyncio.run(_bounded(answer, grace))
        return _verdict_json(answer)

    return run


def _native_guardrails(guardrails: Sequence[Guardrail]) -> list[tuple[str, str, int, str, Callable[[str], str]]]:
    """``guardrails`` as the native constructor takes them. A negative timeout goes to the
    core as 0, whose CONFIG error says what is allowed."""
    out: list[tuple[str, str, int, str, Callable[[str], str]]] = []
    if isinstance(guardrails, Guardrail):
        raise TypeError("guardrails takes a list of modelplug.Guardrail objects")
    for g in guardrails:
        if not isinstance(g, Guardrail):
            raise TypeError(f"guardrails takes modelplug.Guardrail objects, not {type(g).__name__}")
        out.append((g.name, g.stage, max(g.timeout_ms, 0), g.fail, _native_check(g)))
    return out
