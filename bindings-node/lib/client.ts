/** The modelplug {@link Client}. */

import { onAbort } from './abort';
import { fromNative, type ErrorPayload } from './errors';
import { Bridge } from './bridge';
import { closeAtExit } from './exit';
import { nativeGuardrails } from './guardrails';
import { requestJson } from './json';
import { native, type NativeAbort, type NativeClient } from './native';
import { withOutcomes, withText } from './response';
import { ChatStream } from './stream';
import { withTraceparent } from './trace';
import type { CallOptions, ChatRequest, ChatResponse, ClientOptions, Config, EmbedRequest, EmbedResponse, UsageRecord } from './types';
import { UsageDelivery } from './usage';

/** A native client made by {@link Client.fromConfig} (and its `onUsage` delivery), handed to the constructor. */
let fromFile: { native: NativeClient; usage: UsageDelivery | undefined } | undefined;

type Envelope<T> = { ok: T; err?: undefined } | { ok?: undefined; err: ErrorPayload };

function unwrap<T>(text: string): T {
  const envelope = JSON.parse(text) as Envelope<T>;
  if (envelope.err !== undefined) throw fromNative(envelope.err);
  return envelope.ok as T;
}

/** Native constructors throw an Error whose message is an error envelope. */
function construct(make: () => NativeClient): NativeClient {
  try {
    return make();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (message.startsWith('{"err":')) throw fromNative((JSON.parse(message) as { err: ErrorPayload }).err);
    throw e;
  }
}

/**
 * Calls any configured LLM provider through one API, with retries and failover. The work
 * runs in the Rust core on its own threads: calls never block the event loop, and many can
 * be in flight at once.
 *
 * ```ts
 * const client = Client.fromConfig('modelplug.yaml', { onUsage: (event) => console.log(event.cost_usd) });
 * const answer = await client.chat({ model: 'smart', messages: [{ role: 'user', content: 'Hi' }],
 *   metadata: { user: 'u-17', labels: { feature: 'summary' } } });
 * ```
 *
 * Usage events leave in the background (to the config's collector and sinks, and to
 * `onUsage`): {@link flush} waits for them, {@link close} too, and a client still open when
 * the process ends is closed then (on `beforeExit`, or synchronously on `exit`, waiting at
 * most 5 s). Inside an active OpenTelemetry span (with `@opentelemetry/api` installed), a
 * call's `metadata.traceparent` is that span's unless the request sets one.
 */
export class Client {
  readonly #native: NativeClient;
  readonly #bridge: Bridge;
  readonly #usage: UsageDelivery | undefined;
  readonly #forgetAtExit: () => void;

  /**
   * A client for a config object, or with none (models named `provider/model`, keys from the
   * environment); `options.onUsage` gets every usage event, `options.guardrails` are checks
   * written in JavaScript (see {@link ClientOptions}).
   */
  constructor(config?: Config, options?: ClientOptions) {
    if (fromFile !== undefined) {
      this.#native = fromFile.native;
      this.#usage = fromFile.usage;
    } else {
      const usage = deliveryFor(options);
      const guardrails = nativeGuardrails(options?.guardrails);
      this.#native = construct(
        () => new native.NativeClient(config === undefined ? null : JSON.stringify(config), usage?.receive ?? null, guardrails?.options ?? null, guardrails?.check ?? null),
      );
      this.#usage = usage;
    }
    this.#bridge = new Bridge(this.#native);
    this.#forgetAtExit = closeAtExit(this, this.#native);
  }

  /** A client for a `modelplug.yaml` file (secrets from the environment); `options` as for the constructor. */
  static fromConfig(path: string, options?: ClientOptions): Client {
    const usage = deliveryFor(options);
    const guardrails = nativeGuardrails(options?.guardrails);
    fromFile = {
      native: construct(() => native.NativeClient.fromFile(path, usage?.receive ?? null, guardrails?.options ?? null, guardrails?.check ?? null)),
      usage,
    };
    try {
      return new Client();
    } finally {
      fromFile = undefined;
    }
  }

  /** One chat completion. Rejects with a {@link ModelplugError} subclass. */
  async chat(request: ChatRequest, options?: CallOptions): Promise<ChatResponse> {
    const body = requestJson(withTraceparent(request));
    const text = await this.#call((id, abort) => this.#native.chat(id, body, abort), options?.signal);
    return withText(unwrap<ChatResponse>(text));
  }

  /** A streamed chat completion: `for await (const event of client.stream(...))`. */
  stream(request: ChatRequest, options?: CallOptions): ChatStream {
    return new ChatStream(this.#native.stream(requestJson(withTraceparent(request))), this.#bridge, options?.signal);
  }

  /** Embeddings for `input` (a string or a list of strings). */
  async embed(request: EmbedRequest, options?: CallOptions): Promise<EmbedResponse> {
    const body = requestJson(withTraceparent(request));
    return withOutcomes(unwrap<EmbedResponse>(await this.#call((id, abort) => this.#native.embed(id, body, abort), options?.signal)));
  }

  /** This process's usage events for this client (the last 10 000 calls); no prompt text. */
  usage(): UsageRecord[] {
    return JSON.parse(this.#native.usage()) as UsageRecord[];
  }

  /**
   * Waits until the usage recorded so far has been delivered — to the collector (or its disk
   * spool), the config's sinks and `onUsage` (every event has reached it when this resolves) —
   * for at most `timeoutMs` (then rejects with {@link TimeoutError}).
   */
  async flush(timeoutMs = 5000): Promise<void> {
    unwrap<null>(await this.#bridge.call((id) => this.#native.flush(id, timeoutMs)));
    await this.#usageDelivered();
  }

  /**
   * Closes the client: new calls reject with {@link CancelledError}; waits up to 5 s for calls
   * in flight (one still running then is not cut off: it is recorded when it ends), then
   * flushes usage as {@link flush} does. Resolves when that is done; {@link usage} stays
   * readable. A client still open when the process ends is closed then.
   */
  async close(): Promise<void> {
    this.#forgetAtExit();
    unwrap<null>(await this.#bridge.call((id) => this.#native.close(id)));
    await this.#usageDelivered();
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#native.closed;
  }

  /** The config's stable hash (secrets and layout excluded). */
  get configHash(): string {
    return this.#native.configHash;
  }

  /** The model aliases the config defines. */
  get models(): string[] {
    return this.#native.models;
  }

  /** Resolves once `onUsage` has had every event queued so far (at once without `onUsage`). */
  #usageDelivered(): Promise<void> {
    return this.#usage === undefined ? Promise.resolve() : this.#bridge.hold(this.#usage.barrier(this.#native));
  }

  /** Starts a native call under `signal` (listened to until the call settles); its JSON result. */
  #call(start: (id: number, abort: NativeAbort | null) => void, signal: AbortSignal | undefined): Promise<string> {
    if (signal === undefined) return this.#bridge.call((id) => start(id, null));
    const abort = new native.NativeAbort();
    const stopListening = onAbort(signal, () => abort.abort());
    return this.#bridge.call((id) => start(id, abort)).finally(stopListening);
  }
}

/** The delivery of `options.onUsage`, if there is one (a non-function is a TypeError). */
function deliveryFor(options: ClientOptions | undefined): UsageDelivery | undefined {
  const onUsage = options?.onUsage;
  if (onUsage === undefined || onUsage === null) return undefined;
  if (typeof onUsage !== 'function') throw new TypeError(`onUsage must be a function, not ${typeof onUsage}`);
  return new UsageDelivery(onUsage);
}
