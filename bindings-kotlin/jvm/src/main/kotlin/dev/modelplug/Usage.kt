package dev.modelplug

import dev.modelplug.ffi.FfiUsageListener
import java.util.concurrent.atomic.AtomicBoolean
import java.util.logging.Level
import java.util.logging.Logger
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonObject

/**
 * Hands each usage event to a client's `onUsage` lambda: the core calls [onUsage] off the
 * request path (on one of its background threads, in batches) with the event's JSON, decoded
 * here to the same [JsonObject] as [Client.usage] returns. Whatever the lambda throws is caught
 * (the next event still reaches it) and logged once, on the `dev.modelplug` logger.
 */
internal class UsageListener(private val onUsage: (JsonObject) -> Unit) : FfiUsageListener {
    private val warned = AtomicBoolean(false)

    override fun onUsage(eventJson: String) {
        try {
            onUsage(Codec.lenient.parseToJsonElement(Codec.ok(eventJson)).jsonObject)
        } catch (t: Throwable) {
            if (!warned.getAndSet(true)) {
                LOGGER.log(Level.WARNING, "the onUsage callback threw; later usage events still reach it (logged once)", t)
            }
        }
    }

    private companion object {
        val LOGGER: Logger = Logger.getLogger("dev.modelplug")
    }
}
