/**
 * Settling Promises for native calls. Each call gets an id; the core's completion queue holds
 * its JSON result and wakes this side once per batch (bindings-node/src/bridge.rs); `drain`
 * settles every finished call. A timer is kept referenced while calls are pending, so that the process
 * waits for them — and lets the process exit once there are none.
 */

import type { NativeClient } from './native';

/** One client's pending calls. */
export class Bridge {
  readonly #native: NativeClient;
  readonly #pending = new Map<number, (payload: string) => void>();
  /** Promises other than calls that keep the process waiting (see {@link hold}). */
  #held = 0;
  #nextId = 0;
  readonly #keepAlive: NodeJS.Timeout;

  constructor(native: NativeClient) {
    this.#native = native;
    this.#keepAlive = setInterval(() => {}, 1 << 30);
    this.#keepAlive.unref();
    native.setWaker(() => this.#drain());
  }

  /** Starts a native call (`start(id)`) and resolves with its JSON result. */
  call(start: (id: number) => void): Promise<string> {
    const id = (this.#nextId = (this.#nextId + 1) >>> 0);
    const result = new Promise<string>((resolve) => this.#pending.set(id, resolve));
    if (this.#pending.size === 1) this.#keepAlive.ref();
    start(id);
    return result;
  }

  /** Keeps the process waiting until `promise` settles, as for a pending call. */
  async hold<T>(promise: Promise<T>): Promise<T> {
    if (this.#held++ === 0) this.#keepAlive.ref();
    try {
      return await promise;
    } finally {
      if (--this.#held === 0 && this.#pending.size === 0) this.#keepAlive.unref();
    }
  }

  #drain(): void {
    const { ids, payloads } = this.#native.drain();
    for (let i = 0; i < ids.length; i++) {
      const resolve = this.#pending.get(ids[i]!);
      if (resolve !== undefined) {
        this.#pending.delete(ids[i]!);
        resolve(payloads[i]!);
      }
    }
    if (this.#pending.size === 0 && this.#held === 0) this.#keepAlive.unref();
  }
}
