/**
 * Streams: `for await (const event of client.stream(...))`. The last event is `done`, with
 * the assembled response. `break`, an exception in the loop, or the call's AbortSignal
 * cancels the request and closes the connection.
 */

import { onAbort } from './abort';
import type { Bridge } from './bridge';
import { fromNative, type ErrorPayload } from './errors';
import type { NativeStream } from './native';
import { withText } from './response';
import type { ChatResponse, StreamEvent } from './types';

interface Batch {
  events: StreamEvent[];
  err: ErrorPayload | null;
}

/** A streamed chat completion. */
export class ChatStream implements AsyncIterable<StreamEvent> {
  /** The assembled response, once the stream has ended. */
  response: ChatResponse | undefined;
  readonly #native: NativeStream;
  readonly #bridge: Bridge;
  #buffer: StreamEvent[] = [];
  #next = 0;
  #error: ErrorPayload | null = null;
  #finished = false;
  /** Stops listening to the call's AbortSignal (when the stream has ended). */
  #stopListening: (() => void) | undefined;

  /** @internal — use `client.stream(...)`. */
  constructor(native: NativeStream, bridge: Bridge, signal?: AbortSignal) {
    this.#native = native;
    this.#bridge = bridge;
    if (signal) this.#stopListening = onAbort(signal, () => this.cancel());
  }

  /** The next event, or `undefined` at the end; throws the stream's error after its last event. */
  async nextEvent(): Promise<StreamEvent | undefined> {
    for (;;) {
      if (this.#next < this.#buffer.length) {
        const ev = this.#buffer[this.#next++]!;
        if (ev.type === 'done') {
          withText(ev.response);
          this.response = ev.response;
          this.#finish();
        }
        return ev;
      }
      if (this.#error !== null) {
        const error = this.#error;
        this.#error = null;
        this.#finish();
        throw fromNative(error);
      }
      if (this.#finished) return undefined;
      const batch = JSON.parse(await this.#bridge.call((id) => this.#native.nextBatch(id))) as Batch;
      this.#buffer = batch.events;
      this.#next = 0;
      this.#error = batch.err;
      if (batch.events.length === 0 && batch.err === null) this.#finish();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    return {
      next: async () => {
        const value = await this.nextEvent();
        return value === undefined ? { done: true, value: undefined } : { done: false, value };
      },
      return: async () => {
        this.cancel();
        return { done: true, value: undefined };
      },
    };
  }

  /** Only the answer text, piece by piece. */
  async *textStream(): AsyncGenerator<string> {
    for await (const ev of this) {
      if (ev.type === 'text_delta') yield ev.text;
    }
  }

  /** Reads the rest of the stream and returns the assembled response. */
  async finalResponse(): Promise<ChatResponse> {
    for await (const _ of this) {
      // drain
    }
    if (this.response === undefined) throw new Error('the stream ended without a response');
    return this.response;
  }

  /** Stops the stream and closes the connection to the provider. */
  cancel(): void {
    if (!this.#finished) {
      this.#finish();
      this.#native.cancel();
    }
  }

  /** Marks the end: nothing more is read, and the AbortSignal is no longer listened to. */
  #finish(): void {
    this.#finished = true;
    this.#stopListening?.();
    this.#stopListening = undefined;
  }
}
