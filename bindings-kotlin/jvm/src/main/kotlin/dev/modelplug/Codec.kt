package dev.modelplug

import dev.modelplug.ffi.FfiException
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject

/** JSON between Kotlin and the core: requests out (nulls left out), answers in (unknown keys tolerated). */
internal object Codec {
    /** Encodes requests: defaults written, `null`s left out. */
    val requests = Json {
        encodeDefaults = true
        explicitNulls = false
    }

    /** Decodes answers and error payloads. */
    val lenient = Json { ignoreUnknownKeys = true }

    fun chatResponse(text: String): ChatResponse {
        val json = lenient.parseToJsonElement(text) as JsonObject
        return lenient.decodeFromJsonElement(ChatResponse.serializer(), json).also { it.source = json }
    }

    fun embedResponse(text: String): EmbedResponse {
        val json = lenient.parseToJsonElement(text) as JsonObject
        return lenient.decodeFromJsonElement(EmbedResponse.serializer(), json).also { it.source = json }
    }
}

/** Runs a native call, turning its failures into [ModelplugException]s. */
internal inline fun <T> native(call: () -> T): T =
    try {
        call()
    } catch (e: FfiException.Failed) {
        throw ModelplugException.fromJson(e.payload)
    }
