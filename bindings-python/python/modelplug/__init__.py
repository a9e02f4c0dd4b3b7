"""modelplug: one client for many LLM providers, with retries, failover and one error model.

The work happens in a Rust core linked into this process; this package is its Python face::

    import modelplug

    client = modelplug.Client.from_config("modelplug.yaml")
    answer = client.chat(model="smart", messages=[{"role": "user", "content": "What is the capital of France?"}])
    print(answer.text, answer.usage.total_tokens)

:class:`Collector` reads what the clients reported back from a ``modelplug-collector``: usage
and cost reports and raw events as pandas DataFrames, and its keys.

:class:`Guardrail` adds checks written in Python to every call of a client (see
:mod:`modelplug.guardrails`).
"""

from ._native import __version__
from .client import Client
from .collector import Collector
from .errors import (
    AllDeploymentsFailedError,
    AuthenticationError,
    BudgetExceededError,
    CancelledError,
    CollectorError,
    ConfigError,
    ContentFilteredError,
    ContextLengthExceededError,
    GuardrailBlockedError,
    InternalError,
    InvalidRequestError,
    ModelplugError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    ProviderUnavailableError,
    RateLimitError,
    TimeoutError,
    error_class,
)
from .guardrails import Guardrail, GuardrailInput, Verdict
from .stream import AsyncStream, Stream
from .types import (
    AssistantMessage,
    Attempt,
    ChatResponse,
    Done,
    EmbedResponse,
    FunctionCall,
    GuardrailOutcome,
    Message,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageReport,
)

__all__ = [
    "__version__",
    "Client",
    "Collector",
    "Stream",
    "AsyncStream",
    "ChatResponse",
    "EmbedResponse",
    "AssistantMessage",
    "Attempt",
    "GuardrailOutcome",
    "FunctionCall",
    "ToolCall",
    "Usage",
    "Message",
    "Tool",
    "StreamEvent",
    "TextDelta",
    "ReasoningDelta",
    "ToolCallDelta",
    "UsageReport",
    "Done",
    "Guardrail",
    "GuardrailInput",
    "Verdict",
    "ModelplugError",
    "InvalidRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "RateLimitError",
    "TimeoutError",
    "ProviderUnavailableError",
    "ContextLengthExceededError",
    "ContentFilteredError",
    "GuardrailBlockedError",
    "BudgetExceededError",
    "AllDeploymentsFailedError",
    "CancelledError",
    "NetworkError",
    "ConfigError",
    "InternalError",
    "CollectorError",
    "error_class",
]
