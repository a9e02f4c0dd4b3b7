package dev.modelplug.bench

import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.contentOrNull
import kotlinx.serialization.json.intOrNull

/** One answer: the text and the total token count, for [Workload.check]. */
data class Answer(val text: String?, val totalTokens: Int?)

/** A client under measurement: one way of making the yardstick's call. */
interface BenchClient : AutoCloseable {
    /** The measured library's version. */
    val version: String?

    /** One chat completion. */
    suspend fun chat(): Answer

    /** One streamed completion; [onChunk] gets each piece of text and, at the end, the token count. */
    suspend fun stream(onChunk: (text: String?, totalTokens: Int?) -> Unit)

    override fun close() {}
}

/** The clients by the names the harness takes on its command line. */
val clients: Map<String, () -> BenchClient> = mapOf(
    "modelplug" to ::ModelplugBench,
    "okhttp" to ::OkHttpBench,
    "jdk-http" to ::JdkHttpBench,
)

/** Reads a chat completion the way a hand-written raw client would: parse, then pick two fields. */
fun parseCompletion(body: String): Answer {
    val root = Workload.json.parseToJsonElement(body).jsonObject
    val message = root["choices"]!!.jsonArray[0].jsonObject["message"]!!.jsonObject
    return Answer(message["content"]?.jsonPrimitive?.contentOrNull, root.totalTokens())
}

/** Reads one SSE line of a streamed completion; `false` at `[DONE]`. */
fun parseStreamLine(line: String, onChunk: (String?, Int?) -> Unit): Boolean {
    if (!line.startsWith("data: ")) return true
    val data = line.substring(6)
    if (data == "[DONE]") return false
    val chunk = Workload.json.parseToJsonElement(data).jsonObject
    val choices = chunk["choices"]?.jsonArray
    val text = if (choices.isNullOrEmpty()) null else
        choices[0].jsonObject["delta"]?.jsonObject?.get("content")?.jsonPrimitive?.contentOrNull
    onChunk(text, chunk.totalTokens())
    return true
}

private fun JsonObject.totalTokens(): Int? =
    (this["usage"] as? JsonObject)?.get("total_tokens")?.jsonPrimitive?.intOrNull

/** A jar's version from the pom.properties Maven packs into it. */
fun mavenVersion(group: String, artifact: String): String? =
    BenchClient::class.java.getResourceAsStream("/META-INF/maven/$group/$artifact/pom.properties")?.use { input ->
        java.util.Properties().apply { load(input) }.getProperty("version")
    }
