package dev.modelplug

import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive

/**
 * The caller's W3C trace context, from OpenTelemetry when the application uses it: a call made
 * while an OpenTelemetry span is current carries that span's `traceparent` in its metadata
 * (unless the request sets one), so its usage event joins the caller's trace. The
 * OpenTelemetry API is optional: whether `io.opentelemetry.api.trace.Span` is on the classpath
 * is checked once; without it nothing is added and no OpenTelemetry class is ever loaded.
 */
internal object Trace {
    @Volatile
    private var available: Boolean = try {
        Class.forName("io.opentelemetry.api.trace.Span", false, Trace::class.java.classLoader)
        true
    } catch (_: Throwable) {
        false
    }

    /** `00-<trace id>-<span id>-<flags>` of the current span, or `null`. */
    fun traceparent(): String? {
        if (!available) return null
        return try {
            OpenTelemetrySpan.traceparent()
        } catch (_: LinkageError) {
            available = false // an OpenTelemetry API this build cannot use: stop asking
            null
        } catch (_: Exception) {
            null // a broken tracing setup must never fail a call
        }
    }

    /** [request] with the current span's `traceparent` in its metadata, unless it has one. */
    fun apply(request: ChatRequest): ChatRequest {
        if (request.metadata?.traceparent != null) return request
        val parent = traceparent() ?: return request
        return request.copy(metadata = (request.metadata ?: Metadata()).copy(traceparent = parent))
    }

    /** [request] with the current span's `traceparent` in its metadata, unless it has one. */
    fun apply(request: EmbedRequest): EmbedRequest {
        if (request.metadata?.traceparent != null) return request
        val parent = traceparent() ?: return request
        return request.copy(metadata = (request.metadata ?: Metadata()).copy(traceparent = parent))
    }

    /** A JSON request with the current span's `traceparent` in its `metadata`, unless it has one. */
    fun apply(request: JsonObject): JsonObject {
        val metadata = when (val m = request["metadata"]) {
            null, JsonNull -> JsonObject(emptyMap())
            is JsonObject -> m
            else -> return request // not an object: the core says what is wrong with it
        }
        if (metadata["traceparent"].let { it != null && it !is JsonNull }) return request
        val parent = traceparent() ?: return request
        return JsonObject(request + ("metadata" to JsonObject(metadata + ("traceparent" to JsonPrimitive(parent)))))
    }
}

/** The only code that touches OpenTelemetry classes; loaded only when they are on the classpath. */
private object OpenTelemetrySpan {
    fun traceparent(): String? {
        val context = io.opentelemetry.api.trace.Span.current().spanContext
        if (!context.isValid) return null
        return "00-${context.traceId}-${context.spanId}-${context.traceFlags.asHex()}"
    }
}
