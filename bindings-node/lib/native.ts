/** The native addon (built by `npm run build`): private, wrapped by the classes in this package. */

import { join } from 'node:path';

/** A cancellation signal for native calls. */
export interface NativeAbort {
  abort(): void;
}

/** A native chat stream, read in batches. */
export interface NativeStream {
  /** Starts call `id`: JSON `{"events": [...], "err": error | null}`; no events and no error is the end. */
  nextBatch(id: number): void;
  cancel(): void;
}

/** The native client: JSON text in; JSON envelopes (`{"ok"}` / `{"err"}`) out through `drain`. */
export interface NativeClient {
  setWaker(waker: () => void): void;
  drain(): { ids: number[]; payloads: string[] };
  chat(id: number, requestJson: string, abort?: NativeAbort | null): void;
  embed(id: number, requestJson: string, abort?: NativeAbort | null): void;
  stream(requestJson: string): NativeStream;
  /** This process's usage events for the client (JSON array text); readable after close. */
  usage(): string;
  /** Starts closing as call `id`: JSON `{"ok": null}` once calls in flight ended and services stopped. */
  close(id: number): void;
  /** Starts flushing buffered usage as call `id`, bounded by `timeoutMs`: JSON `{"ok": null}` or `{"err"}`. */
  flush(id: number, timeoutMs: number): void;
  /** Queues the `""` marker to `onUsage` behind the events queued so far; false without `onUsage` (or at shutdown). */
  usageBarrier(): boolean;
  readonly closed: boolean;
  readonly configHash: string;
  readonly models: string[];
}

/** A custom guardrail's settings (defaults applied; the core validates them). */
export interface GuardrailOptions {
  name: string;
  stage: string;
  timeoutMs: number;
  fail: string;
}

/** A custom guardrail's answer: the verdict's JSON text, or the type name of what the check threw. */
export interface CheckAnswer {
  verdict?: string;
  raised?: string;
}

/** Runs custom guardrail `index` on a check input (JSON text); called on the JS thread by the core. */
export type CheckDispatch = (index: number, inputJson: string) => Promise<CheckAnswer>;

/** What the addon exports. */
export interface NativeModule {
  NativeClient: {
    new (
      configJson?: string | null,
      onUsage?: ((json: string) => void) | null,
      guardrails?: GuardrailOptions[] | null,
      check?: CheckDispatch | null,
    ): NativeClient;
    fromFile(path: string, onUsage?: ((json: string) => void) | null, guardrails?: GuardrailOptions[] | null, check?: CheckDispatch | null): NativeClient;
    /** Closes `clients` at once, blocking the JS thread at most `timeoutMs` (for `process.on('exit')`); throws an error envelope. */
    closeAllSync(clients: NativeClient[], timeoutMs: number): void;
  };
  NativeAbort: { new (): NativeAbort };
  /** Every stable error code the core knows, in table order. */
  errorCodes(): string[];

}

function load(): NativeModule {
  const file = join(__dirname, '..', 'native', `modelplug.${process.platform}-${process.arch}.node`);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as NativeModule;
  } catch (cause) {
    throw new Error(`modelplug: cannot load the native addon ${file}; build it with \`npm run build\``, { cause });
  }
}

/** The loaded addon. */
export const native: NativeModule = load();
