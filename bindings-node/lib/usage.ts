/**
 * Delivering usage events to a client's `onUsage`. The core hands each event's JSON text to a
 * threadsafe function (bindings-node/src/usage.rs), which calls {@link UsageDelivery.receive}
 * on the JS thread; an exception thrown by `onUsage` is caught here and reported with
 * `process.emitWarning`, and later events still reach it. `""` is a barrier marker: it arrives
 * after every event queued before it, so {@link UsageDelivery.barrier} resolves once `onUsage`
 * has had them all.
 */

import type { NativeClient } from './native';
import type { UsageRecord } from './types';

/** One client's `onUsage` and its pending barriers. */
export class UsageDelivery {
  readonly #onUsage: (event: UsageRecord) => void;
  readonly #barriers: (() => void)[] = [];

  constructor(onUsage: (event: UsageRecord) => void) {
    this.#onUsage = onUsage;
  }

  /** What the native client calls (with an event's JSON text, or `""` for a barrier). */
  readonly receive = (json: string): void => {
    if (json === '') {
      this.#barriers.shift()?.();
      return;
    }
    try {
      this.#onUsage(JSON.parse(json) as UsageRecord);
    } catch (error) {
      process.emitWarning(`modelplug: the onUsage callback threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`, {
        type: 'ModelplugWarning',
        code: 'MODELPLUG_ON_USAGE',
      });
    }
  };

  /** Resolves once `onUsage` has had every event the native client queued before this call. */
  barrier(native: NativeClient): Promise<void> {
    return new Promise((resolve) => {
      this.#barriers.push(resolve);
      if (!native.usageBarrier()) {
        // The environment is shutting down: nothing more will arrive.
        this.#barriers.splice(this.#barriers.indexOf(resolve), 1);
        resolve();
      }
    });
  }
}
