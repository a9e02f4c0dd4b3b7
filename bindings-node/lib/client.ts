/** The modelplug {@link Client}. */

import { onAbort } from './abort';
import { fromNative, type ErrorPayload } from './errors';
import { Bridge } from './bridge';
import { requestJson } from './json';
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
    const body = requestJson(request);
    const text = await this.#call((id, abort) => this.#native.chat(id, body, abort), options?.signal);
    return withText(unwrap<ChatResponse>(text));
  }

  /** A streamed chat completion: `for await (const event of client.stream(...))`. */
  stream(request: ChatRequest, options?: CallOptions): ChatStream {
    return new ChatStream(this.#native.stream(requestJson(request)), this.#bridge, options?.signal);
  }

  /** Embeddings for `input` (a string or a list of strings). */
  async embed(request: EmbedRequest, options?: CallOptions): Promise<EmbedResponse> {
    const body = requestJson(request);
    return unwrap<EmbedResponse>(await this.#call((id, abort) => this.#native.embed(id, body, abort), options?.signal));
  }

  /** This process's usage events for this client (the last 10 000 calls); no prompt text. */
  usage(): UsageRecord[] {
    return JSON.parse(this.#native.usage()) as UsageRecord[];
  }

  /**
   * Closes the client: new calls reject with {@link CancelledError}; waits up to 5 s for calls
   * in flight (one still running then is not cut off: it is recorded when it ends). Resolves
   * when that is done;
   * {@link usage} stays readable.
   */
  async close(): Promise<void> {
    unwrap<null>(await this.#bridge.call((id) => this.#native.close(id)));
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

  /** Starts a native call under `signal` (listened to until the call settles); its JSON result. */
  #call(start: (id: number, abort: NativeAbort | null) => void, signal: AbortSignal | undefined): Promise<string> {
    if (signal === undefined) return this.#bridge.call((id) => start(id, null));
    const abort = new native.NativeAbort();
    const stopListening = onAbort(signal, () => abort.abort());
    return this.#bridge.call((id) => start(id, abort)).finally(stopListening);
  }
}
