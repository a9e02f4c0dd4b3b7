/** The modelplug {@link Client}. */

import { fromNative, type ErrorPayload } from './errors';
import { Bridge } from './bridge';
import { native, type NativeAbort, type NativeClient } from './native';
import { withText } from './response';
import { ChatStream } from './stream';
import type { CallOptions, ChatRequest, ChatResponse, Config, EmbedRequest, EmbedResponse, UsageRecord } from './types';

/** A native client made by {@link Client.fromConfig}, handed to the constructor. */
let fromFile: NativeClient | undefined;

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

/** An AbortSignal as a native signal (`null` without one). */
function nativeAbort(signal: AbortSignal | undefined): NativeAbort | null {
  if (signal === undefined) return null;
  const abort = new native.NativeAbort();
  if (signal.aborted) abort.abort();
  else signal.addEventListener('abort', () => abort.abort(), { once: true });
  return abort;
}

/**
 * Calls any configured LLM provider through one API, with retries and failover. The work
 * runs in the Rust core on its own threads: calls never block the event loop, and many can
 * be in flight at once.
 *
 * ```ts
 * const client = Client.fromConfig('modelplug.yaml');
 * const answer = await client.chat({ model: 'smart', messages: [{ role: 'user', content: 'Hi' }] });
 * ```
 */
export class Client {
  readonly #native: NativeClient;
  readonly #bridge: Bridge;

  /** A client for a config object, or with none (models named `provider/model`, keys from the environment). */
  constructor(config?: Config) {
    this.#native = fromFile ?? construct(() => new native.NativeClient(config === undefined ? null : JSON.stringify(config)));
    this.#bridge = new Bridge(this.#native);
  }

  /** A client for a `modelplug.yaml` file (secrets from the environment). */
  static fromConfig(path: string): Client {
    fromFile = construct(() => native.NativeClient.fromFile(path));
    try {
      return new Client();
    } finally {
      fromFile = undefined;
    }
  }

  /** One chat completion. Rejects with a {@link ModelplugError} subclass. */
  async chat(request: ChatRequest, options?: CallOptions): Promise<ChatResponse> {
    const body = JSON.stringify(request);
    const abort = nativeAbort(options?.signal);
    const text = await this.#bridge.call((id) => this.#native.chat(id, body, abort));
    return withText(unwrap<ChatResponse>(text));
  }

  /** A streamed chat completion: `for await (const event of client.stream(...))`. */
  stream(request: ChatRequest, options?: CallOptions): ChatStream {
    return new ChatStream(this.#native.stream(JSON.stringify(request)), this.#bridge, options?.signal);
  }

  /** Embeddings for `input` (a string or a list of strings). */
  async embed(request: EmbedRequest, options?: CallOptions): Promise<EmbedResponse> {
    const body = JSON.stringify(request);
    const abort = nativeAbort(options?.signal);
    return unwrap<EmbedResponse>(await this.#bridge.call((id) => this.#native.embed(id, body, abort)));
  }

  /** This process's usage events for this client (the last 10 000 calls); no prompt text. */
  usage(): UsageRecord[] {
    return JSON.parse(this.#native.usage()) as UsageRecord[];
  }

  /** Closes the client; later calls reject with {@link CancelledError}. */
  async close(): Promise<void> {
    this.#native.close();
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
}


