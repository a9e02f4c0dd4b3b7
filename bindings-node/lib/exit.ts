/**
 * Closing the clients still open when the process ends, so that their buffered usage reaches
 * the collector, the sinks and `onUsage`: on `beforeExit` (the event loop ran dry) each is
 * closed asynchronously; on `exit` (`process.exit()`, or after `beforeExit`), where nothing
 * asynchronous can run, those left are closed synchronously, all at once, waiting at most
 * {@link EXIT_CLOSE_TIMEOUT_MS}. The listeners hold no handle: they never keep the process alive.
 */

import { native as addon, type NativeClient } from './native';

/** How long closing the clients at exit may wait. */
export const EXIT_CLOSE_TIMEOUT_MS = 5000;

/** A client to close at exit: the client itself (weakly) and its native object. */
interface Entry {
  client: WeakRef<{ close(): Promise<void> }>;
  native: NativeClient;
}

const open = new Set<Entry>();
const forget = new FinalizationRegistry<Entry>((entry) => open.delete(entry));
let listening = false;

function beforeExit(): void {
  for (const entry of open) {
    const client = entry.client.deref();
    if (client === undefined || entry.native.closed) {
      open.delete(entry);
      continue;
    }
    // Closing keeps the loop alive until it is done; `beforeExit` then fires again.
    client.close().catch(() => {});
  }
}

function exit(): void {
  const left = [...open].map((entry) => entry.native).filter((native) => !native.closed);
  open.clear();
  if (left.length === 0) return;
  try {
    addon.NativeClient.closeAllSync(left, EXIT_CLOSE_TIMEOUT_MS);
  } catch {
    // Nobody to tell any more.
  }
}

/** Closes `client` at exit unless it is closed before; returns the function that forgets it. */
export function closeAtExit(client: { close(): Promise<void> }, native: NativeClient): () => void {
  if (!listening) {
    listening = true;
    process.on('beforeExit', beforeExit);
    process.on('exit', exit);
  }
  const entry: Entry = { client: new WeakRef(client), native };
  open.add(entry);
  forget.register(client, entry, entry);
  return () => {
    open.delete(entry);
    forget.unregister(entry);
  };
}
