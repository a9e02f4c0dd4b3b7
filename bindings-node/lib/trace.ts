/**
 * The caller's W3C trace context, from OpenTelemetry when the application uses it: a call made
 * while an OpenTelemetry span is active carries that span's `traceparent` in its metadata
 * (unless the request sets one), so its usage event joins the caller's trace.
 * `@opentelemetry/api` is optional: it is looked up once, on the first call; without it (or
 * without an active span) nothing is added.
 */

import type { Metadata } from './types';

/** The part of `@opentelemetry/api` used here (it is not a dependency of this package). */
interface OtelApi {
  trace: { getActiveSpan(): { spanContext(): { traceId: string; spanId: string; traceFlags: number } } | undefined };
  isSpanContextValid(context: { traceId: string; spanId: string }): boolean;
}

let current: (() => string | undefined) | undefined;

function load(): () => string | undefined {
  let api: OtelApi;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    api = require('@opentelemetry/api') as OtelApi;
  } catch {
    return () => undefined;
  }
  return () => {
    try {
      const context = api.trace.getActiveSpan()?.spanContext();
      if (context === undefined || !api.isSpanContextValid(context)) return undefined;
      return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
    } catch {
      return undefined; // a broken tracing setup must never fail a call
    }
  };
}

/** `00-<trace id>-<span id>-<flags>` of the active OpenTelemetry span, if there is one. */
export function traceparent(): string | undefined {
  return (current ??= load())();
}

/** `request` with the active span's `traceparent` in its metadata, unless it has one (a copy; `request` is not changed). */
export function withTraceparent<T extends { metadata?: Metadata }>(request: T): T {
  const parent = traceparent();
  if (parent === undefined || request === null || typeof request !== 'object' || request.metadata?.traceparent != null) return request;
  return { ...request, metadata: { ...request.metadata, traceparent: parent } };
}
