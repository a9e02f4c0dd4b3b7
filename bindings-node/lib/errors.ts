/**
 * modelplug's errors: one class per stable error code, all extending {@link ModelplugError}.
 * `instanceof` works across realms and duplicate package copies (it checks a brand, not the
 * prototype chain); {@link isModelplugError} is the explicit guard. Messages never contain
 * prompts, completions or secrets.
 */

import type { Attempt } from './types';

const BRAND = Symbol.for('modelplug.error');

/** The JSON form of an error (the same in every modelplug binding). */
export interface ErrorPayload {
  code: string;
  message: string;
  provider?: string | null;
  status?: number | null;
  retry_after_ms?: number | null;
  request_id?: string | null;
  provider_code?: string | null;
  retryable?: boolean;
  attempts?: Attempt[];
  /** The provider's raw error body, only when the request set `include_raw`. */
  raw?: string | null;
}

/** Base class of every modelplug error. */
export class ModelplugError extends Error {
  /** The stable error code, e.g. `RATE_LIMITED`. */
  static readonly code: string = 'INTERNAL';
  /** The stable error code, e.g. `RATE_LIMITED`. */
  readonly code: string;
  /** The provider that failed, if any. */
  readonly provider: string | undefined;
  /** The provider's HTTP status, if any. */
  readonly status: number | undefined;
  /** Seconds the provider asked to wait, if it said. */
  readonly retryAfter: number | undefined;
  /** The provider's request id (for support tickets). */
  readonly requestId: string | undefined;
  /** The provider's own error code (e.g. `insufficient_quota`). */
  readonly providerCode: string | undefined;
  /** Whether retrying the same deployment may succeed. */
  readonly retryable: boolean;
  /** Every try the router made, in order. */
  readonly attempts: Attempt[];
  /** The provider's raw error body, when the request set `include_raw`. */
  readonly raw: string | undefined;

  constructor(payload: ErrorPayload) {
    super(payload.message);
    Object.defineProperty(this, BRAND, { value: true });
    this.name = new.target.name;
    this.code = payload.code;
    this.provider = payload.provider ?? undefined;
    this.status = payload.status ?? undefined;
    this.retryAfter = payload.retry_after_ms == null ? undefined : payload.retry_after_ms / 1000;
    this.requestId = payload.request_id ?? undefined;
    this.providerCode = payload.provider_code ?? undefined;
    this.retryable = payload.retryable ?? false;
    this.attempts = payload.attempts ?? [];
    this.raw = payload.raw ?? undefined;
  }

  /** Brand check: works across realms and duplicate copies of the package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (!isModelplugError(value)) return false;
    return this === ModelplugError || value.code === (this as typeof ModelplugError).code;
  }

  /** The error as its JSON form. */
  toJSON(): ErrorPayload {
    return {
      code: this.code,
      message: this.message,
      provider: this.provider ?? null,
      status: this.status ?? null,
      retry_after_ms: this.retryAfter === undefined ? null : this.retryAfter * 1000,
      request_id: this.requestId ?? null,
      provider_code: this.providerCode ?? null,
      retryable: this.retryable,
      attempts: this.attempts,
      ...(this.raw === undefined ? {} : { raw: this.raw }),
    };
  }

  override toString(): string {
    const where = this.provider ? ` ${this.provider}:` : '';
    const status = this.status === undefined ? '' : ` (HTTP ${this.status})`;
    return `[${this.code}]${where} ${this.message}${status}`;
  }
}

/** True for any modelplug error, whichever realm or copy of the package made it. */
export function isModelplugError(value: unknown): value is ModelplugError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** The request was malformed or used a parameter the provider rejects. */
export class InvalidRequestError extends ModelplugError {
  static override readonly code = 'INVALID_REQUEST';
}
/** The provider rejected the credentials. */
export class AuthenticationError extends ModelplugError {
  static override readonly code = 'AUTHENTICATION';
}
/** The credentials are valid but not allowed to do this. */
export class PermissionDeniedError extends ModelplugError {
  static override readonly code = 'PERMISSION_DENIED';
}
/** The model, deployment or endpoint does not exist. */
export class NotFoundError extends ModelplugError {
  static override readonly code = 'NOT_FOUND';
}
/** The provider asked to slow down, or the account ran out of quota. */
export class RateLimitError extends ModelplugError {
  static override readonly code = 'RATE_LIMITED';
}
/** The provider did not answer within the deadline. */
export class TimeoutError extends ModelplugError {
  static override readonly code = 'TIMEOUT';
}
/** The provider failed, is overloaded, or sent something unreadable. */
export class ProviderUnavailableError extends ModelplugError {
  static override readonly code = 'PROVIDER_UNAVAILABLE';
}
/** The prompt does not fit the model's context window. */
export class ContextLengthExceededError extends ModelplugError {
  static override readonly code = 'CONTEXT_LENGTH_EXCEEDED';
}
/** The provider's content policy refused the prompt or the answer. */
export class ContentFilteredError extends ModelplugError {
  static override readonly code = 'CONTENT_FILTERED';
}
/** A modelplug guardrail blocked the call. */
export class GuardrailBlockedError extends ModelplugError {
  static override readonly code = 'GUARDRAIL_BLOCKED';
}
/** A budget set in central policy is used up. */
export class BudgetExceededError extends ModelplugError {
  static override readonly code = 'BUDGET_EXCEEDED';
}
/** Every deployment, fallbacks included, was tried and failed. */
export class AllDeploymentsFailedError extends ModelplugError {
  static override readonly code = 'ALL_DEPLOYMENTS_FAILED';
}
/** The call was cancelled (an AbortSignal fired), or the client was closed. */
export class CancelledError extends ModelplugError {
  static override readonly code = 'CANCELLED';
}
/** The connection failed before a provider answer arrived. */
export class NetworkError extends ModelplugError {
  static override readonly code = 'NETWORK';
}
/** The configuration is invalid; the message names file, line and field. */
export class ConfigError extends ModelplugError {
  static override readonly code = 'CONFIG';
}
/** A bug in modelplug. */
export class InternalError extends ModelplugError {
  static override readonly code = 'INTERNAL';
}

const CLASSES: ReadonlyMap<string, typeof ModelplugError> = new Map(
  [
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
  ].map((cls) => [cls.code, cls]),
);

/**
 * The class thrown for an error `code`: its own subclass for every code the core knows
 * (checked against the core's list in test/errors.test.mjs), else the base class, which
 * still carries the code (one from a newer core).
 */
export function errorClass(code: string): typeof ModelplugError {
  return CLASSES.get(code) ?? ModelplugError;
}

/** The one place an error code becomes an exception class (house rule 3). */
export function fromNative(payload: ErrorPayload): ModelplugError {
  return new (errorClass(payload.code))(payload);
}
