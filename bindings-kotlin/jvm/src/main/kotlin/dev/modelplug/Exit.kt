package dev.modelplug

import dev.modelplug.ffi.ffiCloseAll
import java.util.Collections
import java.util.WeakHashMap

/**
 * Closes the clients still open when the JVM shuts down, so that their buffered usage reaches
 * the collector, the sinks and `onUsage`: one shutdown hook closes them all at once, waiting at
 * most [TIMEOUT_MS] (plus the last flush). Clients are held weakly (a dropped client is not kept
 * alive for this), and the hook starts no thread before the JVM exits, so it never keeps the JVM running.
 */
internal object Exit {
    /** How long closing the clients at JVM exit may wait. */
    const val TIMEOUT_MS: Long = 5_000

    private val open: MutableSet<Client> = Collections.synchronizedSet(Collections.newSetFromMap(WeakHashMap()))

    init {
        try {
            Runtime.getRuntime().addShutdownHook(Thread(::closeAll, "modelplug-exit"))
        } catch (_: IllegalStateException) {
            // The JVM is already shutting down: nothing will run at its exit any more.
        }
    }

    /** Closes [client] at JVM exit unless [forget] is called first. */
    fun track(client: Client) {
        open.add(client)
    }

    /** [client] was closed: nothing to do for it at exit. */
    fun forget(client: Client) {
        open.remove(client)
    }

    private fun closeAll() {
        val left = synchronized(open) { open.toList().also { open.clear() } }.filterNot { it.isClosed }
        if (left.isEmpty()) return
        try {
            ffiCloseAll(left.map { it.ffi }, TIMEOUT_MS.toULong())
        } catch (_: Throwable) {
            // Nobody to tell any more.
        }
    }
}
