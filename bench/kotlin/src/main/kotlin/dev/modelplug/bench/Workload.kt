package dev.modelplug.bench

import kotlinx.serialization.json.Json
import kotlinx.serialization.json.addJsonObject
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonArray
import kotlinx.serialization.json.putJsonObject

/** The yardstick's request and expected answer (the same as ../shared/bench's py_bench and node_bench). */
object Workload {
    const val HOST = "http://127.0.0.1:18080"
    const val MODEL = "gpt-4o-mini"
    const val API_KEY = "sk-bench-0000000000000000"
    const val EXPECT_TOKENS = 81
    const val EXPECT_PREFIX = "Sure! Here is a short overview."

    /** The OpenAI-shaped request body; [stream] adds `stream` and `stream_options.include_usage`. */
    fun body(stream: Boolean): String = buildJsonObject {
        put("model", MODEL)
        putJsonArray("messages") {
            addJsonObject { put("role", "system"); put("content", "You are a helpful assistant.") }
            addJsonObject { put("role", "user"); put("content", "Give me a short overview of Rust for SDK cores.") }
        }
        put("temperature", 0.2)
        put("max_tokens", 128)
        if (stream) {
            put("stream", true)
            putJsonObject("stream_options") { put("include_usage", true) }
        }
    }.toString()

    /** Base URLs of the canned answers: a whole completion, and the same one streamed. */
    val chatBase = "$HOST/v1"
    val streamBase = "$HOST/stream/v1"

    /** Shared JSON reader for the raw clients. */
    val json = Json { ignoreUnknownKeys = true }

    /** Throws unless the answer is the canned one, so a broken client cannot look fast. */
    fun check(text: String?, totalTokens: Int?) {
        if (totalTokens != EXPECT_TOKENS || text == null || !text.startsWith(EXPECT_PREFIX)) {
            error("bad response: $totalTokens tokens, text ${text?.take(40)}")
        }
    }
}
