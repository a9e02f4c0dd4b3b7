/**
 * modelplug: one client for many LLM providers, with retries, failover and one error model.
 * The work happens in a Rust core loaded into this process.
 *
 * ```ts
 * import { Client } from 'modelplug';
 * const client = Client.fromConfig('modelplug.yaml');
 * const answer = await client.chat({ model: 'smart', messages: [{ role: 'user', content: 'Hi' }] });
 * for await (const event of client.stream({ model: 'smart', messages })) { ... }
 * ```
 * @packageDocumentation
 */

export { Client } from './client';
export { ChatStream } from './stream';
export { Verdict } from './guardrails';
export {
  ModelplugError,
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
  isModelplugError,
  errorClass,
  type ErrorPayload,
} from './errors';
export type * from './types';

/** This package's version. */
export const VERSION = '0.1.0';
