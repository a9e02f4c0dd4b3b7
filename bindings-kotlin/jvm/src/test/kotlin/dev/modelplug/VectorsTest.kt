package dev.modelplug

import java.io.File
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import kotlinx.serialization.json.put
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory

/** The shared behaviour vectors (the JSON files in tests/vectors) through the public Kotlin API. */
class VectorsTest {
    private val files = File(REPO, "tests/vectors").listFiles { f -> f.name.endsWith(".json") }!!.sortedBy { it.name }

    @TestFactory
    fun vectors(): List<DynamicTest> {
        val cases = files.flatMap { f ->
            expandProviders(Json.parseToJsonElement(f.readText()).jsonObject["cases"]!!.jsonArray.map { it.jsonObject })
                .map { f.nameWithoutExtension to it }
        }
        assertTrue(cases.size >= 80, "only ${cases.size} vectors")
        return cases.map { (file, case) ->
            DynamicTest.dynamicTest("$file::${case["name"]!!.jsonPrimitive.content}") {
                val result = runBlocking { run(case) }
                val expect = case["expect"]!!
                matches(expect, result)
                if ("error" !in expect.jsonObject) assertTrue("error" !in result, "unexpected error ${result["error"]}")
            }
        }
    }

    private suspend fun streamResult(stream: ChatStream): MutableMap<String, JsonElement> {
        val text = StringBuilder()
        val reasoning = StringBuilder()
        val counts = linkedMapOf<String, Int>()
        val out = linkedMapOf<String, JsonElement>()
        try {
            stream.asFlow().collect { ev ->
                val type = when (ev) {
                    is StreamEvent.TextDelta -> "text_delta".also { text.append(ev.text) }
                    is StreamEvent.ReasoningDelta -> "reasoning_delta".also { reasoning.append(ev.text) }
                    is StreamEvent.ToolCallDelta -> "tool_call_delta"
                    is StreamEvent.UsageReport -> "usage"
                    is StreamEvent.Done -> "done".also { out["response"] = ev.response.toJson() }
                }
                counts[type] = (counts[type] ?: 0) + 1
            }
        } catch (e: ModelplugException) {
            out["error"] = e.toJson()
        }
        out["text"] = JsonPrimitive(text.toString())
        out["reasoning"] = JsonPrimitive(reasoning.toString())
        out["event_counts"] = buildJsonObject { counts.forEach { (k, v) -> put(k, v) } }
        return out
    }

    /** The request with every `{"$float": "NaN"}` (or `Infinity`, `-Infinity`) made that Kotlin number. */
    private fun hostRequest(request: JsonElement): JsonElement = when {
        request is JsonObject && request.keys == setOf("\$float") -> JsonPrimitive(
            when (val token = request["\$float"]!!.jsonPrimitive.content) {
                "NaN" -> Double.NaN
                "Infinity" -> Double.POSITIVE_INFINITY
                "-Infinity" -> Double.NEGATIVE_INFINITY
                else -> error("unknown \$float $token")
            },
        )
        request is JsonObject -> JsonObject(request.mapValues { (_, v) -> hostRequest(v) })
        request is JsonArray -> JsonArray(request.map(::hostRequest))
        else -> request
    }

    /** Runs the case's call; with `cancel`, gives up on it the Kotlin way. */
    private suspend fun call(client: Client, case: JsonObject): Map<String, JsonElement> {
        val request = hostRequest(case["request"]!!).jsonObject
        val cancel = case["cancel"]?.jsonObject
        val kind = case["call"]!!.jsonPrimitive.content
        return try {
            when {
                cancel != null && kind == "stream" -> takeEvents(client.stream(request), cancel["after_events"]!!.jsonPrimitive.int)
                cancel != null -> {
                    val response = withTimeoutOrNull(cancel["after_ms"]!!.jsonPrimitive.long) {
                        if (kind == "chat") client.chat(request).toJson() else client.embed(request).toJson()
                    }
                    if (response == null) mapOf("cancelled" to JsonPrimitive(true)) else mapOf("response" to response)
                }
                kind == "chat" -> mapOf("response" to client.chat(request).toJson())
                kind == "embed" -> mapOf("response" to client.embed(request).toJson())
                else -> streamResult(client.stream(request))
            }
        } catch (e: ModelplugException) {
            mapOf("error" to e.toJson())
        }
    }

    /** Reads [wanted] events of [stream] (`asFlow().take(n)`), then stops. */
    private suspend fun takeEvents(stream: ChatStream, wanted: Int): Map<String, JsonElement> {
        var read = 0
        val text = StringBuilder()
        try {
            stream.asFlow().take(wanted).collect { ev ->
                read += 1
                if (ev is StreamEvent.TextDelta) text.append(ev.text)
            }
        } catch (_: ModelplugException) {
            // The stream failed before `wanted` events: the caller has stopped reading all the same.
        }
        return mapOf("cancelled" to JsonPrimitive(true), "events_read" to JsonPrimitive(read), "text" to JsonPrimitive(text.toString()))
    }

    /** The client's usage events; after a cancellation, waits (up to 5 s) for the first one. */
    private suspend fun usage(client: Client, cancelled: Boolean): JsonArray {
        val deadline = System.currentTimeMillis() + 5_000
        while (cancelled && client.usage().isEmpty() && System.currentTimeMillis() < deadline) delay(10)
        return JsonArray(client.usage())
    }

    private suspend fun run(case: JsonObject): JsonObject {
        val scenario = case["upstream"]?.let { MockUpstream.scenario(it.jsonArray) }
        val base = scenario?.second ?: MockUpstream.url
        val result = linkedMapOf<String, JsonElement>()
        val client = try {
            val yaml = case["config_yaml"]?.jsonPrimitive?.content
            if (yaml != null) {
                val file = File.createTempFile("modelplug", ".yaml").apply { deleteOnExit() }
                val path = File(file.parentFile, "modelplug.yaml")
                path.writeText(yaml.replace("{upstream}", base))
                Client.fromConfigFile(path.path, HostGuardrails.of(case))
            } else {
                Client.fromConfigJson(case["config"]!!.toString().replace("{upstream}", base), HostGuardrails.of(case))
            }
        } catch (e: ModelplugException) {
            result["error"] = e.toJson()
            null
        }
        if (client == null) {
            result["usage"] = JsonArray(emptyList())
        } else {
            client.use {
                result.putAll(call(it, case))
                result["usage"] = usage(it, "cancel" in case)
            }
        }
        // A cancelled call's connection is seen closed only at the mock's next write.
        scenario?.let {
            result["upstream_requests"] =
                if ("cancel" in case) MockUpstream.settledRequests(it.first) else MockUpstream.requests(it.first)
        }
        return JsonObject(result)
    }
}

private operator fun JsonObject.contains(key: String) = containsKey(key)
private operator fun Map<String, JsonElement>.contains(key: String) = containsKey(key)

/** `over` laid on `base`: objects merge key by key, anything else is replaced. */
private fun merged(base: JsonElement?, over: JsonElement): JsonElement =
    if (base is JsonObject && over is JsonObject) {
        JsonObject(base + over.mapValues { (k, v) -> merged(base[k], v) })
    } else {
        over
    }

/** A vector with `providers` ({label: overrides}) runs once per label, named `name[label]`,
 * with the label's overrides merged over the case. */
internal fun expandProviders(cases: List<JsonObject>): List<JsonObject> = cases.flatMap { case ->
    val providers = case["providers"] as? JsonObject ?: return@flatMap listOf(case)
    val base = JsonObject(case - "providers")
    providers.map { (label, over) ->
        val c = merged(base, over) as JsonObject
        JsonObject(c + ("name" to JsonPrimitive("${case["name"]!!.jsonPrimitive.content}[$label]")))
    }
}

