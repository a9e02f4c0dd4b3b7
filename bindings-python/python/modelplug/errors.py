"""modelplug's exceptions: one class per stable error code, all under :class:`ModelplugError`.

Built-in exceptions are mixed in where they fit, so ``except TimeoutError`` and
``except ValueError`` keep working: :class:`TimeoutError` is a :class:`builtins.TimeoutError`,
:class:`InvalidRequestError` and :class:`ConfigError` are :class:`ValueError`\\ s,
:class:`NetworkError` is a :class:`ConnectionError`.

Messages never contain prompts, completions or secrets.

:class:`CollectorError` stands apart: it is what :class:`~modelplug.Collector` raises for the
collector's HTTP API, and its ``code`` is the collector's own (``unauthorized``, ``bad_query``…).
"""

from __future__ import annotations

import builtins
TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~7 ms

from . import _native
from .types import Attempt

if TYPE_CHECKING:
    from typing import Any

    from collections.abc import Mapping

__all__ = [
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
]


class ModelplugError(Exception):
    """Base class of every modelplug error.

    Attributes:
        code: the stable error code, e.g. ``"RATE_LIMITED"``.
        message: what went wrong (never a prompt or a secret).
        provider: the provider that failed, if any.
        status: the provider's HTTP status, if any.
        retry_after: seconds the provider asked to wait, if it said.
        request_id: the provider's request id (for support tickets).
        provider_code: the provider's own error code (e.g. ``"insufficient_quota"``).
        retryable: whether retrying the same deployment may succeed.
        attempts: every try the router made, in order.
        raw: the provider's raw error body, only when the request set ``include_raw``
            (it may contain what the request sent).
    """

    code: str = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        provider_code: str | None = None,
        retryable: bool = False,
        attempts: list[Attempt] | None = None,
        raw: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id
        self.provider_code = provider_code
        self.retryable = retryable
        self.attempts: list[Attempt] = attempts or []
        self.raw = raw

    def __str__(self) -> str:
        where = f" {self.provider}:" if self.provider else ""
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"[{self.code}]{where} {self.message}{status}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, status={self.status!r})"

    def to_dict(self) -> dict[str, Any]:
        """The error as a dict (the same form every modelplug binding uses; ``raw`` only when
        the provider's raw error body was kept)."""
        out: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "provider": self.provider,
            "status": self.status,
            "retry_after_ms": None if self.retry_after is None else self.retry_after * 1000.0,
            "request_id": self.request_id,
            "provider_code": self.provider_code,
            "retryable": self.retryable,
            "attempts": [a.to_dict() for a in self.attempts],
        }
        if self.raw is not None:
            out["raw"] = self.raw
        return out


class InvalidRequestError(ModelplugError, ValueError):
    """The request was malformed or used a parameter the provider rejects."""

    code = "INVALID_REQUEST"


class AuthenticationError(ModelplugError):
    """The provider rejected the credentials."""

    code = "AUTHENTICATION"


class PermissionDeniedError(ModelplugError):
    """The credentials are valid but not allowed to do this."""

    code = "PERMISSION_DENIED"


class NotFoundError(ModelplugError, LookupError):
    """The model, deployment or endpoint does not exist."""

    code = "NOT_FOUND"


class RateLimitError(ModelplugError):
    """The provider asked to slow down, or the account ran out of quota."""

    code = "RATE_LIMITED"


class TimeoutError(ModelplugError, builtins.TimeoutError):  # noqa: A001 - the built-in is mixed in
    """The provider did not answer within the deadline."""

    code = "TIMEOUT"


class ProviderUnavailableError(ModelplugError):
    """The provider failed, is overloaded, or sent something unreadable."""

    code = "PROVIDER_UNAVAILABLE"


class ContextLengthExceededError(ModelplugError):
    """The prompt does not fit the model's context window."""

    code = "CONTEXT_LENGTH_EXCEEDED"


class ContentFilteredError(ModelplugError):
    """The provider's content policy refused the prompt or the answer."""

    code = "CONTENT_FILTERED"


class GuardrailBlockedError(ModelplugError):
    """A modelplug guardrail blocked the call."""

    code = "GUARDRAIL_BLOCKED"


class BudgetExceededError(ModelplugError):
    """A budget set in central policy is used up."""

    code = "BUDGET_EXCEEDED"


class AllDeploymentsFailedError(ModelplugError):
    """Every deployment, fallbacks included, was tried and failed."""

    code = "ALL_DEPLOYMENTS_FAILED"


class CancelledError(ModelplugError):
    """The call was cancelled, or the client was closed."""

    code = "CANCELLED"


class NetworkError(ModelplugError, ConnectionError):
    """The connection failed before a provider answer arrived."""

    code = "NETWORK"


class ConfigError(ModelplugError, ValueError):
    """The configuration is invalid; the message names file, line and field."""

    code = "CONFIG"


class InternalError(ModelplugError):
    """A bug in modelplug."""

    code = "INTERNAL"


class CollectorError(ModelplugError):
    """The collector refused a :class:`~modelplug.Collector` request, or gave no answer.

    Not a core error: it comes from the collector's HTTP API, so ``code`` is the collector's
    own error code — ``unauthorized`` (401: no valid key), ``forbidden`` (403: an ingest key
    where an admin key is needed), ``bad_query`` (400: the message names the parameter),
    ``invalid`` (400), ``not_found`` (404), ``database_unavailable`` (503) — or, when no
    answer came, ``unreachable`` (the connection failed), ``timeout`` or ``bad_response``
    (and ``redirect``, ``http_error`` for an answer that is not the collector's).
    ``status`` is the HTTP status (``None`` without an answer); ``retryable`` is true for
    429, 5xx and no answer. The message never contains the key.
    """

    code = "collector_error"

    def __init__(
        self,
        message: str,
        *,
        code: str = "collector_error",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        retryable = status is None or status == 429 or status >= 500
        super().__init__(message, status=status, retry_after=retry_after, retryable=retryable)
        self.code = code

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"[{self.code}] collector: {self.message}{status}"

    def __repr__(self) -> str:
        return f"CollectorError({self.message!r}, code={self.code!r}, status={self.status!r})"


_CLASSES: dict[str, type[ModelplugError]] = {
    cls.code: cls
    for cls in (
        InvalidRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        RateLimitError,
        TimeoutError,
        ProviderUnavailableError,
        ContextLengthExceededError,
        ContentFilteredError,
        GuardrailBlockedError,
        BudgetExceededError,
        AllDeploymentsFailedError,
        CancelledError,
        NetworkError,
        ConfigError,
        InternalError,
    )
}


def _from_native(payload: Mapping[str, Any]) -> ModelplugError:
    """The one place an error code becomes an exception class (house rule 3)."""
    cls = _CLASSES.get(payload["code"], InternalError)
    retry_ms = payload.get("retry_after_ms")
    return cls(
        payload["message"],
        provider=payload.get("provider"),
        status=payload.get("status"),
        retry_after=None if retry_ms is None else retry_ms / 1000.0,
        request_id=payload.get("request_id"),
        provider_code=payload.get("provider_code"),
        retryable=bool(payload.get("retryable")),
        attempts=[Attempt._from_dict(a) for a in payload.get("attempts") or ()],
        raw=payload.get("raw"),
    )


def error_class(code: str) -> type[ModelplugError]:
    """The exception class raised for an error ``code``."""
    return _CLASSES[code]


assert set(_CLASSES) == set(_native.ERROR_CODES), "the error table and the core disagree"
_native._set_error_factory(_from_native)
