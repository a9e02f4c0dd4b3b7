/** Listening to an `AbortSignal` for as long as a call runs, and no longer. */

const nothing = (): void => {};

/**
 * Calls `fire` when `signal` aborts (at once if it already has). Returns what stops listening:
 * call it when the call settles, so that a long-lived signal (a server's shutdown signal, one
 * controller for many calls) does not collect a listener per call.
 */
export function onAbort(signal: AbortSignal, fire: () => void): () => void {
  if (signal.aborted) {
    fire();
    return nothing;
  }
  signal.addEventListener('abort', fire, { once: true });
  return () => signal.removeEventListener('abort', fire);
}
