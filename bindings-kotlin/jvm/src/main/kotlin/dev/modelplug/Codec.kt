package dev.modelplug

import dev.modelplug.ffi.FfiException
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonObject

/** JSON between Kotlin and the core: requests out (nulls left out), answers in (unknown keys tolerated). */
internal object Codec {
    /**
     * Encodes requests: defaults written, `null`s left out. A non-finite number is written as
     * the bare `NaN` / `Infinity` / `-Infinity` token, which the core reports as an
     * INVALID_REQUEST naming the field.
     */
    val requests = Json {
        encodeDefaults = true
        explicitNulls = false
        allowSpecialFloatingPointValues = true
    }

    /** Decodes answers and error payloads. */
    val lenient = Json { ignoreUnknownKeys = true }

    /** How the core's `{"ok": value}` envelope starts (`modelplug_core::ffi::ok_json`). */
    private const val OK = "{\"ok\":"

    /** The value in a call's `{"ok": value}` envelope, as JSON text; an `{"err": error}` envelope is thrown. */
    fun ok(envelope: String): String {
        if (envelope.startsWith(OK)) return envelope.substring(OK.length, envelope.length - 1)
        throw ModelplugException.fromJson(lenient.parseToJsonElement(envelope).jsonObject["err"] as? JsonObject ?: JsonObject(emptyMap()))
    }

    /** A chat envelope's response, decoded in one pass; the JSON tree for `toJson()` is built only if asked for. */
    fun chatResponse(envelope: String): ChatResponse {
        val text = ok(envelope)
        return lenient.decodeFromString(ChatResponse.serializer(), text).also { it.source = JsonSource(text) }
    }

    /** An embeddings envelope's response (see [chatResponse]). */
    fun embedResponse(envelope: String): EmbedResponse {
        val text = ok(envelope)
        return lenient.decodeFromString(EmbedResponse.serializer(), text).also { it.source = JsonSource(text) }
    }
}

/** A response's JSON form: the text the core sent, parsed on first use, or a tree already at hand. */
internal class JsonSource private constructor(private val text: String?, @Volatile private var tree: JsonObject?) {
    constructor(text: String) : this(text, null)
    constructor(tree: JsonObject) : this(null, tree)

    /** The JSON object (parsed once; a race parses twice to equal results). */
    val json: JsonObject
        get() = tree ?: (Codec.lenient.parseToJsonElement(text!!) as JsonObject).also { tree = it }

    companion object {
        val EMPTY = JsonSource(JsonObject(emptyMap()))
    }
}

/** Runs a native call that reports failure as [FfiException] (constructors, `shutdown`), turning it into a [ModelplugException]. */
internal inline fun <T> native(call: () -> T): T =
    try {
        call()
    } catch (e: FfiException.Failed) {
        throw ModelplugException.fromJson(e.payload)
    }
