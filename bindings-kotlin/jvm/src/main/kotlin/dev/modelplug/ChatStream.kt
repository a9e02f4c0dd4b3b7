package dev.modelplug

import dev.modelplug.ffi.FfiStream
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject

/**
 * A streamed chat completion. Collect [asFlow] once; the last event is [StreamEvent.Done] with
 * the assembled response. Cancelling the collecting coroutine (or leaving the collection early)
 * cancels the request and closes its connection. When the collection ends, however it ends,
 * the native stream is freed (a call counts as in flight until then: `Client.close()` waits
 * for it).
 */
class ChatStream internal constructor(private val ffi: FfiStream) : AutoCloseable {
    /** The assembled response, once the stream has ended. */
    @Volatile
    var response: ChatResponse? = null
        private set

    /** The native stream was freed (guarded by this object's monitor). */
    private var released = false

    /** The events as a cold flow; collect it once. */
    fun asFlow(): Flow<StreamEvent> = flow {
        check(!synchronized(this@ChatStream) { released }) { "a ChatStream can be collected once" }
        try {
            while (true) {
                // {"events": [...], "err": error | null}; no events and no error is the end.
                val batch = Codec.lenient.parseToJsonElement(ffi.nextBatch()).jsonObject
                val events = batch["events"]?.jsonArray ?: JsonArray(emptyList())
                for (raw in events) {
                    val event = Codec.lenient.decodeFromJsonElement(StreamEvent.serializer(), raw)
                    if (event is StreamEvent.Done) {
                        event.response.source = JsonSource(raw.jsonObject["response"]?.jsonObject ?: JsonObject(emptyMap()))
                        response = event.response
                    }
                    emit(event)
                }
                (batch["err"] as? JsonObject)?.let { throw ModelplugException.fromJson(it) }
                if (events.isEmpty() || response != null) break
            }
        } finally {
            release()
        }
    }

    /** Stops the stream and closes the connection to the provider (a pending read ends with [ModelplugException.Cancelled]). */
    @Synchronized
    override fun close() {
        if (!released) ffi.cancel()
    }

    /** Cancels (a no-op once the stream has ended) and frees the native stream; no read is pending. */
    @Synchronized
    private fun release() {
        if (!released) {
            released = true
            ffi.cancel()
            ffi.destroy()
        }
    }
}
