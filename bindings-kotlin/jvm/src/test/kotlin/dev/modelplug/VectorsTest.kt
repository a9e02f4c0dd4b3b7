package dev.modelplug

import java.io.File
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
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
            Json.parseToJsonElement(f.readText()).jsonObject["cases"]!!.jsonArray.map { f.nameWithoutExtension to it.jsonObject }
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
                Client.fromConfigFile(path.path)
            } else {
                Client.fromConfigJson(case["config"]!!.toString().replace("{upstream}", base))
            }
        } catch (e: ModelplugException) {
            result["error"] = e.toJson()
            null
        }
        client?.use {
            val request = case["request"]!!.jsonObject
            try {
                when (case["call"]!!.jsonPrimitive.content) {
                    "chat" -> result["response"] = it.chat(request).toJson()
                    "embed" -> result["response"] = it.embed(request).toJson()
                    else -> result.putAll(streamResult(it.stream(request)))
                }
            } catch (e: ModelplugException) {
                result["error"] = e.toJson()
            }
        }
        scenario?.let { result["upstream_requests"] = MockUpstream.requests(it.first) }
        return JsonObject(result)
    }
}

private operator fun JsonObject.contains(key: String) = containsKey(key)
private operator fun Map<String, JsonElement>.contains(key: String) = containsKey(key)
