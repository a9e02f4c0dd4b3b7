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

    /** Decodes in one pass; the JSON tree for `toJson()` is built only if asked for. */
    fun chatResponse(text: String): ChatResponse =
        lenient.decodeFromString(ChatResponse.serializer(), text).also { it.source = JsonSource(text) }

    fun embedResponse(text: String): EmbedResponse =
        lenient.decodeFromString(EmbedResponse.serializer(), text).also { it.source = JsonSource(text) }
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

/** Runs a native call, turning its failures into [ModelplugException]s. */
internal inline fun <T> native(call: () -> T): T =
    try {
        call()
    } catch (e: FfiException.Failed) {
        throw ModelplugException.fromJson(e.payload)
    }
