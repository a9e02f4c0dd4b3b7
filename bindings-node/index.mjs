// The ES module entry point: the same classes as the CommonJS build (one copy of each, so
// `instanceof` and module state agree whichever way the package is loaded).
import cjs from './dist/index.js';

export const {
  Client,
  ChatStream,
  Verdict,
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
  VERSION,
} = cjs;
export default cjs;
