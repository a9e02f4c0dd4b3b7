"""modelplug's types: responses with attribute access, typed request helpers, stream events.

Requests are plain dicts in the OpenAI shape, or the helpers here (anything with a
``to_dict()``). Responses keep the data in the native core until an attribute is read;
``to_dict()`` gives the same JSON form every modelplug binding uses.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~7 ms

if TYPE_CHECKING:
    from typing import Any

    from . import _native

__all__ = [
    "ChatResponse",
    "EmbedResponse",
    "Usage",
    "AssistantMessage",
    "ToolCall",
    "FunctionCall",
    "Attempt",
    "GuardrailOutcome",
    "Message",
    "Tool",
    "TextDelta",
    "ReasoningDelta",
    "ToolCallDelta",
    "UsageReport",
    "Done",
    "StreamEvent",
]


def _short(text: str | None, n: int = 60) -> str:
    if text is None:
        return "None"
    return repr(text if len(text) <= n else text[: n - 1] + "…")


def _table_html(title: str, rows: list[tuple[str, Any]]) -> str:
    import html  # only notebooks need it, and it pulls in `re`

    cells = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table><caption style='text-align:left'><b>{html.escape(title)}</b></caption>{cells}</table>"


class Usage:
    """Token counts. ``output_tokens`` includes ``reasoning_tokens``; ``cached_input_tokens``
    is the part of ``input_tokens`` read from the provider's prompt cache and
    ``cache_write_tokens`` the part written to it."""

    __slots__ = ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens", "total_tokens", "cache_write_tokens")

    def __init__(
        self,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_input_tokens: int = 0,
        reasoning_tokens: int = 0,
        total_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cached_input_tokens = cached_input_tokens
        self.reasoning_tokens = reasoning_tokens
        self.total_tokens = total_tokens
        self.cache_write_tokens = cache_write_tokens

    # OpenAI names, for code written against the OpenAI SDK.
    @property
    def prompt_tokens(self) -> int:
        """Alias of ``input_tokens``."""
        return self.input_tokens

    @property
    def completion_tokens(self) -> int:
        """Alias of ``output_tokens``."""
        return self.output_tokens

    def to_dict(self) -> dict[str, int]:
        """The counts as a dict."""
        return {k: getattr(self, k) for k in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Usage) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return "Usage(" + ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__) + ")"


class FunctionCall:
    """The function and JSON arguments text of a tool call."""

    __slots__ = ("name", "arguments")

    def __init__(self, name: str, arguments: str) -> None:
        self.name = name
        self.arguments = arguments

    def __repr__(self) -> str:
        return f"FunctionCall(name={self.name!r}, arguments={_short(self.arguments)})"


class ToolCall:
    """A tool call made by the model; answer it with a ``tool`` message carrying its ``id``.

    ``signature`` is the provider's opaque signature of the reasoning behind the call (Gemini's
    ``thoughtSignature``), or ``None``; ``to_dict()`` keeps it, to be sent back unchanged.
    """

    __slots__ = ("id", "type", "function", "signature")

    def __init__(self, id: str, name: str, arguments: str, signature: str | None = None) -> None:  # noqa: A002 - OpenAI's field name
        self.id = id
        self.type = "function"
        self.function = FunctionCall(name, arguments)
        self.signature = signature

    @classmethod
    def _from_dict(cls, d: dict[str, Any]) -> ToolCall:
        f = d["function"]
        return cls(d["id"], f["name"], f.get("arguments", ""), d.get("signature"))

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI form, ready to go back into a request's assistant message."""
        out: dict[str, Any] = {"id": self.id, "type": "function", "function": {"name": self.function.name, "arguments": self.function.arguments}}
        if self.signature is not None:
            out["signature"] = self.signature
        return out

    def __repr__(self) -> str:
        return f"ToolCall(id={self.id!r}, name={self.function.name!r}, arguments={_short(self.function.arguments)})"


class AssistantMessage:
    """The assistant's side of a completion.

    ``reasoning_blocks`` are the provider's opaque reasoning blocks (Anthropic ``thinking``
    with its signature: ``{"type": "thinking", "text": …, "signature": …}``; ``redacted_thinking``:
    ``{"type": "redacted", "data": …}``), in order. ``to_dict()`` keeps them, so that appending
    it to the conversation sends them back unchanged, as Anthropic needs with thinking and tools.
    """

    __slots__ = ("role", "content", "tool_calls", "reasoning", "refusal", "reasoning_blocks")

    def __init__(
        self,
        content: str | None,
        tool_calls: list[ToolCall],
        reasoning: str | None = None,
        refusal: str | None = None,
        reasoning_blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        self.role = "assistant"
        self.content = content
        self.tool_calls = tool_calls
        self.reasoning = reasoning
        self.refusal = refusal
        self.reasoning_blocks = reasoning_blocks or []

    @classmethod
    def _from_dict(cls, d: dict[str, Any]) -> AssistantMessage:
        calls = [ToolCall._from_dict(t) for t in d.get("tool_calls") or ()]
        return cls(d.get("content"), calls, d.get("reasoning"), d.get("refusal"), d.get("reasoning_blocks"))

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI form, ready to append to the conversation (with the reasoning blocks)."""
        out: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [t.to_dict() for t in self.tool_calls]
        if self.reasoning_blocks:
            out["reasoning_blocks"] = self.reasoning_blocks
        return out

    def __repr__(self) -> str:
        return f"AssistantMessage(content={_short(self.content)}, tool_calls={self.tool_calls!r})"


class Attempt:
    """One try of one deployment: ``error`` is ``None`` when it succeeded."""

    __slots__ = ("provider", "deployment", "model", "error", "status", "latency_ms")

    def __init__(
        self,
        provider: str,
        deployment: str,
        model: str,
        error: str | None,
        status: int | None,
        latency_ms: float,
    ) -> None:
        self.provider = provider
        self.deployment = deployment
        self.model = model
        self.error = error
        self.status = status
        self.latency_ms = latency_ms

    @classmethod
    def _from_dict(cls, d: dict[str, Any]) -> Attempt:
        return cls(d["provider"], d["deployment"], d["model"], d.get("error"), d.get("status"), d["latency_ms"])

    @property
    def outcome(self) -> str:
        """``"ok"`` or the error code."""
        return self.error or "ok"

    def to_dict(self) -> dict[str, Any]:
        """The attempt as a dict."""
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self) -> str:
        return f"Attempt({self.deployment!r}, {self.outcome}, {self.latency_ms:.1f} ms)"


class GuardrailOutcome:
    """What one guardrail did on a call: its ``name``, the ``stage`` it checked (``input`` or
    ``output``), its ``action`` — ``pass`` (ran, found nothing), ``redact``, ``block``,
    ``warn``, or ``error`` (a custom guardrail raised or timed out and fails open) — and
    ``count``, how many matches it found (0 for ``pass``; 1 for checks without spans). Never
    the matched text."""

    __slots__ = ("name", "stage", "action", "count")

    def __init__(self, name: str, stage: str, action: str, count: int = 0) -> None:
        self.name = name
        self.stage = stage
        self.action = action
        self.count = count

    @classmethod
    def _from_dict(cls, d: dict[str, Any]) -> GuardrailOutcome:
        return cls(d["name"], d["stage"], d["action"], d.get("count", 0))

    def to_dict(self) -> dict[str, Any]:
        """The outcome as a dict (the usage event's form)."""
        return {k: getattr(self, k) for k in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GuardrailOutcome) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"GuardrailOutcome({self.name!r}, {self.stage}, {self.action}, count={self.count})"


class ChatResponse:
    """A chat completion.

    The common fields are attributes: ``text``, ``message`` (with ``tool_calls``),
    ``finish_reason``, ``usage``, ``cost_usd``, ``provider``, ``deployment``, ``model``,
    ``latency_ms``, ``attempts``, ``guardrails``, ``cache_hit``, ``request_id``, ``id`` and
    ``raw`` (when the request set ``include_raw``).
    """

    __slots__ = ("_native", "_dict")

    def __init__(self, native: _native.ChatResult) -> None:
        self._native = native
        self._dict: dict[str, Any] | None = None

    def _d(self) -> dict[str, Any]:
        if self._dict is None:
            self._dict = self._native.to_dict()
        return self._dict

    @property
    def text(self) -> str:
        """The answer text (``""`` when the model only called tools)."""
        return self._native.text

    @property
    def usage(self) -> Usage:
        """Token counts."""
        return Usage(*self._native.usage)

    @property
    def finish_reason(self) -> str:
        """``stop``, ``length``, ``tool_calls``, ``content_filter`` or ``other``."""
        return self._native.finish_reason

    @property
    def model(self) -> str:
        """The model as the provider reported serving it."""
        return self._native.model

    @property
    def provider(self) -> str:
        """The provider that answered."""
        return self._native.provider

    @property
    def deployment(self) -> str:
        """The deployment that answered."""
        return self._native.deployment

    @property
    def latency_ms(self) -> float:
        """Wall time of the call, retries and fallbacks included."""
        return self._native.latency_ms

    @property
    def cost_usd(self) -> float | None:
        """What the call cost, when the price is known."""
        return self._native.cost_usd

    @property
    def message(self) -> AssistantMessage:
        """The assistant message (text, tool calls, reasoning, refusal)."""
        return AssistantMessage._from_dict(self._d()["message"])

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tool calls the model made."""
        return self.message.tool_calls

    @property
    def attempts(self) -> list[Attempt]:
        """Every try the router made; the last one succeeded."""
        return [Attempt._from_dict(a) for a in self._d()["attempts"]]

    @property
    def guardrails(self) -> list[GuardrailOutcome]:
        """What each guardrail did on this call, in the order they ran (the config's rules,
        then custom ones; input, then output); ``[]`` when none ran."""
        return [GuardrailOutcome._from_dict(g) for g in self._d().get("guardrails", ())]

    @property
    def cache_hit(self) -> bool:
        """Whether the answer came from the response cache."""
        return bool(self._d()["cache_hit"])

    @property
    def request_id(self) -> str | None:
        """The provider's request id."""
        return self._d().get("request_id")

    @property
    def id(self) -> str | None:
        """The provider's id for this completion."""
        return self._d().get("id")

    @property
    def raw(self) -> Any:
        """The provider's raw JSON answer, when the request asked for it."""
        return self._d().get("raw")

    def to_dict(self) -> dict[str, Any]:
        """The response as a dict (the same JSON form every modelplug binding uses)."""
        return dict(self._d())

    def __repr__(self) -> str:
        u = self.usage
        return (
            f"ChatResponse(text={_short(self.text)}, finish_reason={self.finish_reason!r}, "
            f"model={self.model!r}, deployment={self.deployment!r}, tokens={u.total_tokens}, "
            f"latency_ms={self.latency_ms:.1f})"
        )

    def _repr_html_(self) -> str:
        u = self.usage
        rows: list[tuple[str, Any]] = [("text", self.text)]
        rows += [("tool call", f"{c.function.name}({c.function.arguments})") for c in self.tool_calls]
        rows += [
            ("finish reason", self.finish_reason),
            ("model", f"{self.model} via {self.deployment} ({self.provider})"),
            ("tokens", f"{u.input_tokens} in ({u.cached_input_tokens} cached) + {u.output_tokens} out = {u.total_tokens}"),
            ("cost", "unknown" if self.cost_usd is None else f"${self.cost_usd:.6f}"),
            ("latency", f"{self.latency_ms:.1f} ms"),
            ("attempts", " → ".join(f"{a.deployment} {a.outcome}" for a in self.attempts)),
        ]
        rows += [("guardrail", f"{g.name} ({g.stage}): {g.action} ×{g.count}") for g in self.guardrails]
        return _table_html("ChatResponse", rows)


class EmbedResponse:
    """Embedding vectors, one per input text, in input order (``embeddings``), with ``usage``,
    ``cost_usd``, ``model``, ``provider``, ``deployment``, ``latency_ms``, ``attempts`` and
    ``guardrails``."""

    __slots__ = ("embeddings", "_native", "_dict")

    def __init__(self, native: _native.EmbedResult) -> None:
        self.embeddings: list[list[float]] = native.embeddings
        self._native = native
        self._dict: dict[str, Any] | None = None

    def _d(self) -> dict[str, Any]:
        if self._dict is None:
            self._dict = self._native.to_dict()
        return self._dict

    @property
    def usage(self) -> Usage:
        """Token counts (input and total)."""
        return Usage(*self._native.usage)

    @property
    def cost_usd(self) -> float | None:
        """What the call cost, when the config prices the model."""
        cost = self._d().get("cost_usd")
        return None if cost is None else float(cost)

    @property
    def model(self) -> str:
        """The model as served."""
        return str(self._d()["model"])

    @property
    def provider(self) -> str:
        """The provider that answered."""
        return str(self._d()["provider"])

    @property
    def deployment(self) -> str:
        """The deployment that answered."""
        return str(self._d()["deployment"])

    @property
    def latency_ms(self) -> float:
        """Wall time of the call."""
        return float(self._d()["latency_ms"])

    @property
    def attempts(self) -> list[Attempt]:
        """Every try the router made."""
        return [Attempt._from_dict(a) for a in self._d()["attempts"]]

    @property
    def guardrails(self) -> list[GuardrailOutcome]:
        """What each input guardrail did on this call (``[]`` when none ran)."""
        return [GuardrailOutcome._from_dict(g) for g in self._d().get("guardrails", ())]

    def to_dict(self) -> dict[str, Any]:
        """The response as a dict, vectors included."""
        return {**self._d(), "embeddings": self.embeddings}

    def __repr__(self) -> str:
        dims = len(self.embeddings[0]) if self.embeddings else 0
        return f"EmbedResponse({len(self.embeddings)} vectors × {dims}, model={self.model!r}, tokens={self.usage.input_tokens})"


class Message:
    """A conversation message, for those who prefer objects to dicts.

    ``content`` is text or a list of parts (``{"type": "text", "text": …}``,
    ``{"type": "image_url", "image_url": {"url": …}}``, or ``Message.image(...)``).
    ``reasoning_blocks``: an earlier answer's ``AssistantMessage.reasoning_blocks``, unchanged.
    ``cache_control``: a prompt-cache breakpoint after this message, ``{"type": "ephemeral"}``
    with an optional ``"ttl"`` of ``"5m"`` or ``"1h"`` (Anthropic; OpenAI caches on its own).
    """

    __slots__ = ("role", "content", "name", "tool_calls", "tool_call_id", "reasoning_blocks", "cache_control")

    def __init__(
        self,
        role: str,
        content: str | list[Any] | None = None,
        *,
        name: str | None = None,
        tool_calls: list[ToolCall] | list[dict[str, Any]] | None = None,
        tool_call_id: str | None = None,
        reasoning_blocks: list[dict[str, Any]] | None = None,
        cache_control: dict[str, Any] | None = None,
    ) -> None:
        self.role = role
        self.content = content
        self.name = name
        self.tool_calls = tool_calls
        self.tool_call_id = tool_call_id
        self.reasoning_blocks = reasoning_blocks
        self.cache_control = cache_control

    @classmethod
    def system(cls, text: str) -> Message:
        """A system message."""
        return cls("system", text)

    @classmethod
    def user(cls, content: str | list[Any]) -> Message:
        """A user message."""
        return cls("user", content)

    @classmethod
    def assistant(cls, text: str | None = None, tool_calls: list[ToolCall] | None = None) -> Message:
        """An assistant message (e.g. a previous answer, or its tool calls)."""
        return cls("assistant", text, tool_calls=tool_calls)

    @classmethod
    def tool(cls, tool_call_id: str, content: str) -> Message:
        """A tool's result for the call ``tool_call_id``."""
        return cls("tool", content, tool_call_id=tool_call_id)

    @staticmethod
    def image(url: str | None = None, *, data: str | None = None, media_type: str | None = None, detail: str | None = None) -> dict[str, Any]:
        """An image content part: by ``url`` (https or ``data:``), or base64 ``data`` + ``media_type``."""
        part: dict[str, Any] = {"type": "image"}
        if url is not None:
            part["url"] = url
        if data is not None:
            part.update(data=data, media_type=media_type)
        if detail is not None:
            part["detail"] = detail
        return part

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI form."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.name is not None:
            out["name"] = self.name
        if self.tool_calls:
            out["tool_calls"] = [t if isinstance(t, dict) else t.to_dict() for t in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.reasoning_blocks:
            out["reasoning_blocks"] = self.reasoning_blocks
        if self.cache_control is not None:
            out["cache_control"] = self.cache_control
        return out

    def __repr__(self) -> str:
        return f"Message({self.role!r}, {_short(self.content if isinstance(self.content, str) else str(self.content))})"


class Tool:
    """A function the model may call (``Tool(name, description, parameters_json_schema)``).

    ``cache_control``: a prompt-cache breakpoint after this tool's definition (see ``Message``).
    """

    __slots__ = ("name", "description", "parameters", "strict", "cache_control")

    def __init__(
        self,
        name: str,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
        *,
        strict: bool | None = None,
        cache_control: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
        self.cache_control = cache_control

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI form."""
        f: dict[str, Any] = {"name": self.name}
        if self.description is not None:
            f["description"] = self.description
        if self.parameters is not None:
            f["parameters"] = self.parameters
        if self.strict is not None:
            f["strict"] = self.strict
        out: dict[str, Any] = {"type": "function", "function": f}
        if self.cache_control is not None:
            out["cache_control"] = self.cache_control
        return out


class _Event:
    """A stream event: ``type`` names it; the fields are its ``__slots__``."""

    __slots__: tuple[str, ...] = ()
    type: str

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class TextDelta(_Event):
    """A piece of the answer text."""

    __slots__ = ("text",)
    type = "text_delta"

    def __init__(self, text: str) -> None:
        self.text = text


class ReasoningDelta(_Event):
    """A piece of the reasoning text a provider exposes."""

    __slots__ = ("text",)
    type = "reasoning_delta"

    def __init__(self, text: str) -> None:
        self.text = text


class ToolCallDelta(_Event):
    """A piece of a tool call; the first piece of each call has its ``id`` and ``name``."""

    __slots__ = ("index", "id", "name", "arguments")
    type = "tool_call_delta"

    def __init__(self, index: int, id: str | None, name: str | None, arguments: str) -> None:  # noqa: A002
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments


class UsageReport(_Event):
    """Token counts for the whole stream (sent once, near the end)."""

    __slots__ = ("usage",)
    type = "usage"

    def __init__(self, usage: Usage) -> None:
        self.usage = usage


class Done(_Event):
    """The end of a stream, with the assembled response."""

    __slots__ = ("response",)
    type = "done"

    def __init__(self, response: ChatResponse) -> None:
        self.response = response


if TYPE_CHECKING:
    from typing import Union

    StreamEvent = Union[TextDelta, ReasoningDelta, ToolCallDelta, UsageReport, Done]
    """Everything a stream yields."""
else:
    try:
        StreamEvent = TextDelta | ReasoningDelta | ToolCallDelta | UsageReport | Done
    except TypeError:  # Python 3.9
        from typing import Union

        StreamEvent = Union[TextDelta, ReasoningDelta, ToolCallDelta, UsageReport, Done]


def _event(raw: tuple[Any, ...]) -> StreamEvent:
    """A native event tuple as its Python object."""
    kind = raw[0]
    if kind == "text_delta":
        return TextDelta(raw[1])
    if kind == "reasoning_delta":
        return ReasoningDelta(raw[1])
    if kind == "tool_call_delta":
        return ToolCallDelta(raw[1], raw[2], raw[3], raw[4])
    if kind == "usage":
        return UsageReport(Usage(*raw[1]))
    return Done(ChatResponse(raw[1]))
