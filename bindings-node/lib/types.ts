/**
 * The request and response shapes (OpenAI-shaped, snake_case like the wire and like the
 * official OpenAI SDK). The same JSON forms are used by every modelplug binding.
 */

/** Who sent a message. */
export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

/** A text part of a multi-part message. */
export interface TextPart {
  type: 'text';
  text: string;
}

/** An image part, OpenAI style: an https URL or a `data:` URL. */
export interface ImageUrlPart {
  type: 'image_url';
  image_url: { url: string; detail?: 'low' | 'high' | 'auto' };
}

/** An image part, modelplug style: by URL, or base64 bytes with their media type. */
export interface ImagePart {
  type: 'image';
  url?: string;
  media_type?: string;
  data?: string;
  detail?: string;
}

/** One part of a multi-part message. */
export type ContentPart = TextPart | ImageUrlPart | ImagePart;

/** A tool call made by the model (send it back in the assistant message that made it). */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
  /** The provider's opaque signature of the reasoning behind this call (Gemini `thoughtSignature`); send it back unchanged. */
  signature?: string;
}

/**
 * An opaque reasoning block a provider needs back unchanged on the next turn (Anthropic
 * `thinking` with its signature, `redacted_thinking`).
 */
export type ReasoningBlock =
  | { type: 'thinking'; text: string; signature?: string }
  | { type: 'redacted'; data: string };

/**
 * A prompt-cache breakpoint (Anthropic `cache_control`; OpenAI caches on its own and ignores it).
 * `ttl`: `5m` (default) or `1h`.
 */
export interface CacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h';
}

/** One message of the conversation. */
export interface Message {
  role: Role;
  /** Text, or parts; `null` for an assistant message that only calls tools. */
  content?: string | ContentPart[] | null;
  name?: string;
  /** Tool calls the assistant made (assistant messages only). */
  tool_calls?: ToolCall[];
  /** Which tool call this message answers (tool messages only). */
  tool_call_id?: string;
  /** An earlier answer's `message.reasoning_blocks`, unchanged (assistant messages only). */
  reasoning_blocks?: ReasoningBlock[];
  /** A prompt-cache breakpoint after this message. */
  cache_control?: CacheControl;
  /** An answer's readable reasoning, accepted so that `response.message` can go back as it is (not sent). */
  reasoning?: string;
  /** An answer's refusal text, accepted likewise (not sent). */
  refusal?: string;
}

/** A function the model may call. */
export interface Tool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
  /** A prompt-cache breakpoint after this tool's definition. */
  cache_control?: CacheControl;
}

/** Whether and which tool the model must call. */
export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

/** The shape the answer must take. */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean } };

/** Who is calling, for usage attribution (never sent to the provider). */
export interface Metadata {
  /** Overrides the config's `app` for this call. */
  app?: string;
  /** Overrides the config's `team` for this call. */
  team?: string;
  /** The end user (an id, not a name). */
  user?: string;
  /** Free-form tags. */
  tags?: string[];
  /**
   * Free-form key/value attribution (a notebook's experiment, a backend's feature): at most 32,
   * keys 1–64 characters of letters, digits and `_-./:`, values up to 256 bytes (else an
   * `InvalidRequestError` naming the label).
   */
  labels?: Record<string, string>;
  /**
   * The caller's W3C trace context, `00-<trace id>-<span id>-<flags>`. Set automatically from the
   * active OpenTelemetry span when `@opentelemetry/api` is installed and this is not given.
   */
  traceparent?: string;
}

/** A chat completion request. */
export interface ChatRequest {
  /** A model alias from the config, or `provider/model` (e.g. `openai/gpt-4o`). */
  model: string;
  messages: Message[];
  tools?: Tool[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ResponseFormat;
  temperature?: number;
  top_p?: number;
  /** Upper bound on generated tokens (`max_completion_tokens` is accepted too). */
  max_tokens?: number;
  max_completion_tokens?: number;
  stop?: string | string[];
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  reasoning_effort?: string;
  metadata?: Metadata;
  /** Provider-specific parameters, merged into the provider's request body as given. */
  extra?: Record<string, unknown>;
  /** Deadline for the whole call, across retries and fallbacks. */
  timeout_ms?: number;
  /** Keep the provider's raw JSON answer in `raw`. */
  include_raw?: boolean;
}

/** An embeddings request. */
export interface EmbedRequest {
  model: string;
  input: string | string[];
  dimensions?: number;
  metadata?: Metadata;
  extra?: Record<string, unknown>;
  timeout_ms?: number;
}

/**
 * Token counts: `output_tokens` includes `reasoning_tokens`; `cached_input_tokens` (read from
 * the provider's prompt cache) and `cache_write_tokens` (written to it) are part of `input_tokens`.
 */
export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
}

/** One try of one deployment; `error` is `null` when it succeeded. */
export interface Attempt {
  provider: string;
  deployment: string;
  model: string;
  error: string | null;
  status?: number;
  latency_ms: number;
}

/** The assistant's side of a completion. */
export interface AssistantMessage {
  role: 'assistant';
  content: string | null;
  tool_calls?: ToolCall[];
  reasoning?: string;
  refusal?: string;
  /**
   * The provider's opaque reasoning blocks, in order: put them, unchanged, into this message's
   * `reasoning_blocks` when the conversation goes on (Anthropic needs them with thinking and tools).
   */
  reasoning_blocks?: ReasoningBlock[];
}

/** Why generation stopped. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';

/** A chat completion. */
export interface ChatResponse {
  /** The answer text (`''` when the model only called tools). */
  text: string;
  id?: string;
  message: AssistantMessage;
  finish_reason: FinishReason;
  usage: Usage;
  /** What the call cost, when the price is known. */
  cost_usd?: number;
  provider: string;
  deployment: string;
  /** The model as the provider reported serving it. */
  model: string;
  latency_ms: number;
  /** Every try the router made; the last one succeeded. */
  attempts: Attempt[];
  cache_hit: boolean;
  request_id?: string;
  /** The provider's raw JSON answer, when the request set `include_raw`. */
  raw?: unknown;
  /** What each guardrail did on this call, in the order they ran (empty when none ran). */
  guardrails: GuardrailOutcome[];
}

/** Embedding vectors, one per input, in input order. */
export interface EmbedResponse {
  embeddings: number[][];
  usage: Usage;
  cost_usd?: number;
  provider: string;
  deployment: string;
  model: string;
  latency_ms: number;
  attempts: Attempt[];
  request_id?: string;
  /** What each guardrail did on this call, in the order they ran (empty when none ran). */
  guardrails: GuardrailOutcome[];
}

/**
 * What one guardrail did during a call: on responses, on a stream's `done` response and on
 * usage events. Never the text it matched.
 */
export interface GuardrailOutcome {
  /** The guardrail's name (a config rule's, or a custom guardrail's). */
  name: string;
  /** The side it checked. */
  stage: 'input' | 'output';
  /**
   * What it did: `pass` (ran, found nothing), `redact`, `block`, `warn`, or `error` (a custom
   * guardrail threw or timed out and fails open).
   */
  action: 'pass' | 'redact' | 'block' | 'warn' | 'error';
  /** How many matches it found (0 for `pass`; 1 for checks without spans, custom ones included). */
  count: number;
}

/** A piece of the answer text. */
export interface TextDelta {
  type: 'text_delta';
  text: string;
}

/** A piece of the reasoning text a provider exposes. */
export interface ReasoningDelta {
  type: 'reasoning_delta';
  text: string;
}

/** A piece of a tool call; the first piece of each call has its `id` and `name`. */
export interface ToolCallDelta {
  type: 'tool_call_delta';
  index: number;
  id?: string;
  name?: string;
  arguments: string;
}

/** Token counts for the whole stream. */
export interface UsageEventDelta {
  type: 'usage';
  usage: Usage;
}

/** The end of the stream, with the assembled response. */
export interface Done {
  type: 'done';
  response: ChatResponse;
}

/** Everything a stream yields. */
export type StreamEvent = TextDelta | ReasoningDelta | ToolCallDelta | UsageEventDelta | Done;

/** One call's usage record (schema 1): never any prompt or completion text. */
export interface UsageRecord {
  schema: 1;
  id: string;
  ts: string;
  app: string;
  team: string | null;
  user: string | null;
  env: string | null;
  tags: string[];
  operation: 'chat' | 'embeddings';
  model_requested: string;
  provider: string | null;
  deployment: string | null;
  model: string | null;
  stream: boolean;
  /** `cancelled`: the caller gave up (an AbortSignal, a `break` out of a stream, `close()`); `error_code` is then `CANCELLED`. */
  status: 'ok' | 'error' | 'blocked' | 'cancelled';
  error_code: string | null;
  http_status: number | null;
  /** Prompt tokens, cached and cache-written ones included. */
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  /** Prompt tokens written to the provider's cache (part of `input_tokens`). */
  cache_write_tokens: number;
  reasoning_tokens: number;
  /** Whether the token counts are modelplug's estimate (a stream cancelled before the provider reported usage). */
  usage_is_estimated: boolean;
  cost_usd: number | null;
  cost_is_estimated: boolean;
  /** The price table that priced `cost_usd` (`config-<hash>` for the config's `prices`). */
  price_table_version: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  overhead_us: number;
  attempts: Attempt[];
  fallback_used: boolean;
  cache_hit: boolean;
  /** What each guardrail did on this call, in the order they ran. */
  guardrails: GuardrailOutcome[];
  config_hash: string;
  policy_version: string | null;
  sdk: { language: string; version: string };
  /** The call's `metadata.labels` (absent when it had none). */
  labels?: Record<string, string>;
  /** The caller's W3C trace context (`metadata.traceparent`, or the active OpenTelemetry span's), when there was one. */
  traceparent?: string;
  /** The call's text: only when the config turns `capture_content` on. */
  content?: CapturedContent;
}

/** A call's text on its usage event (only with `capture_content: true` in the config). */
export interface CapturedContent {
  /** The request's texts in order: each message (text parts joined), or each embeddings input (role `input`). */
  input: { role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'input'; text: string }[];
  /** The answer's text, when there was one. */
  output: string | null;
}

/** A usage event: {@link UsageRecord} under the name the other bindings use. */
export type UsageEvent = UsageRecord;

/** Options of a {@link Client}. */
export interface ClientOptions {
  /**
   * Called with every usage event, off the call's path: on the JS thread, after the call's
   * Promise settled, in batches. An exception it throws is reported with
   * `process.emitWarning` (code `MODELPLUG_ON_USAGE`) and later events still reach it.
   */
  onUsage?: (event: UsageRecord) => void;
  /**
   * Guardrails written in JavaScript, run in this order after the config's `guardrails:`
   * rules, on every call of the client (see {@link Guardrail}). A bad `stage`, `fail` or
   * `timeoutMs` is a `ConfigError` from the constructor.
   */
  guardrails?: readonly Guardrail[];
}

/** The texts a custom guardrail checks: the request's, the answer's, or both. */
export type GuardrailStage = 'input' | 'output' | 'both';

/**
 * What a custom guardrail's failure — an exception in its check, or a timeout — means:
 * `open`: the call goes on and the outcome records `error`; `closed`: the call fails with
 * `GuardrailBlockedError`.
 */
export type GuardrailFailMode = 'open' | 'closed';

/** What a custom guardrail's check is asked about. */
export interface GuardrailInput {
  /** The guardrail's name. */
  name: string;
  /** The side being checked. */
  stage: 'input' | 'output';
  /**
   * Every text of that side, in order: for `input`, each message's text (system, user,
   * assistant, tool results) and tool-call arguments; for `output`, the answer's text.
   */
  texts: string[];
  /** The model the call asked for (an alias or `provider/model`). */
  model: string;
}

/**
 * A check's answer. Nothing (`undefined`, `null`) or `'pass'`: carry on; `'block'`: the call
 * fails with `GuardrailBlockedError` naming the guardrail; `'warn'`: carry on, recorded as a
 * warning; `{ action: 'redact', texts }`: carry on with `texts` instead of the checked texts
 * (one replacement per text, same order). {@link Verdict} makes each. Anything else fails the
 * check, as an exception would.
 */
export type GuardrailVerdict =
  | void
  | null
  | 'pass'
  | 'block'
  | 'warn'
  | { action: 'pass' | 'block' | 'warn' }
  | { action: 'redact'; texts: string[] };

/**
 * A guardrail written in JavaScript, registered with `new Client(config, { guardrails: [...] })`.
 * Its `check` runs on the JS thread for each call's texts of its stage; it may return the
 * verdict or a Promise of it. A check that throws (or rejects) or takes longer than
 * `timeoutMs` fails as `fail` says; only the thrown value's type name is recorded, never its
 * message. The call waits for the check without blocking the event loop — but a synchronous
 * check blocks it while it runs, as any JavaScript does.
 *
 * ```ts
 * const noCodenames: Guardrail = {
 *   name: 'no-codenames',
 *   stage: 'both',
 *   check: ({ texts }) => texts.some((t) => t.includes('falcon'))
 *     ? Verdict.redact(texts.map((t) => t.replaceAll('falcon', '[PROJECT]')))
 *     : Verdict.pass(),
 * };
 * ```
 */
export interface Guardrail {
  /** Its name, as outcomes and `GuardrailBlockedError` messages name it. */
  name: string;
  /** The texts it checks (default `'input'`). */
  stage?: GuardrailStage;
  /** How long one check may take, in milliseconds (default 1000). */
  timeoutMs?: number;
  /** What an exception or a timeout means (default `'closed'`: the call fails). */
  fail?: GuardrailFailMode;
  /** The check: the verdict on `input.texts`, or a Promise of it. */
  check: (input: GuardrailInput) => GuardrailVerdict | Promise<GuardrailVerdict>;
}

/** A config object (the same fields as `modelplug.yaml`). */
export interface Config {
  app?: string;
  team?: string;
  env?: string;
  defaults?: { timeout_ms?: number; retry?: RetryConfig };
  models?: ModelConfig[];
  /** Prices by `provider/model`, e.g. `{"openai/gpt-4o": {input: 2.5, output: 10}}`. */
  prices?: Record<string, Price>;
  /** Where usage events are reported: the collector's URL and this app's ingest key. */
  collector?: CollectorConfig;
  /** Other places usage events go: a JSON-lines file, OpenTelemetry (OTLP/HTTP). */
  sinks?: SinkConfig[];
  /** Put the call's text (prompt and answer) on its usage event; off unless set. */
  capture_content?: boolean;
  /** Guardrail rules every call's text passes, in order (JavaScript checks: {@link ClientOptions.guardrails}). */
  guardrails?: GuardrailRule[];
}

/**
 * A configured guardrail rule: what it looks for (`kind` and its fields), where (`stage`:
 * `input`, `output` or `both`; the default depends on the kind) and what it does on a match
 * (`action`, default `block`; `redact` replaces the match with a placeholder such as `[EMAIL]`).
 */
export type GuardrailRule = { name: string; stage?: GuardrailStage; action?: 'block' | 'redact' | 'warn' } & (
  | { kind: 'pii'; entities?: string[] }
  | { kind: 'deny_topics'; topics: string[]; synonyms?: Record<string, string[]> }
  | { kind: 'regex'; pattern: string; placeholder?: string; max_match_chars?: number }
  | { kind: 'prompt_injection' }
  | { kind: 'max_input_tokens'; max: number }
  | { kind: 'models' | 'providers'; allowed?: string[]; blocked?: string[] }
  | { kind: 'json_schema'; schema: Record<string, unknown> }
);

/** The usage reporter: batches events to the collector, spooling them to disk while it cannot be reached. */
export interface CollectorConfig {
  url: string;
  key?: string;
  /** The disk spool of this app (default: `$MODELPLUG_SPOOL_DIR/<app>`, else under `~/.local/state/modelplug/spool`). */
  spool_dir?: string;
  spool_max_mb?: number;
  spool_max_age_h?: number;
  batch_size?: number;
  /** How long events wait to be batched at most. */
  flush_interval_ms?: number;
  queue_size?: number;
  timeout_ms?: number;
  /** Write every event to the spool before the call returns (nothing is ever only in memory). */
  write_through?: boolean;
}

/** A usage sink besides the collector. */
export type SinkConfig =
  | { kind: 'jsonl'; path: string; max_mb?: number; keep?: number }
  | { kind: 'otlp'; endpoint: string; headers?: Record<string, string>; service_name?: string; timeout_ms?: number };

/** A model's price in US dollars per million tokens. */
export interface Price {
  input: number;
  /** Prompt tokens read from the provider's cache; defaults to `input`. */
  cached_input?: number;
  /** Prompt tokens written to the provider's cache; defaults to `input`. */
  cache_write?: number;
  /** Generated tokens, reasoning included. */
  output: number;
}

/** Retry policy of one deployment. */
export interface RetryConfig {
  attempts?: number;
  backoff_ms?: number;
  max_backoff_ms?: number;
  max_retry_after_ms?: number;
}

/** A model alias. */
export interface ModelConfig {
  name: string;
  strategy?: 'priority' | 'round_robin' | 'least_latency';
  deployments: DeploymentConfig[];
  fallbacks?: string[];
  retry?: RetryConfig;
}

/** One place a model is served. */
export interface DeploymentConfig {
  provider: string;
  model: string;
  name?: string;
  api_key?: string;
  base_url?: string;
  api_version?: string;
  deployment?: string;
  api?: 'chat' | 'responses';
  timeout_ms?: number;
  headers?: Record<string, string>;
  organization?: string;
  project?: string;
  mock?: Record<string, unknown>;
}

/** Options of a single call. */
export interface CallOptions {
  /** Aborting it cancels the request and closes its connection. */
  signal?: AbortSignal;
}
