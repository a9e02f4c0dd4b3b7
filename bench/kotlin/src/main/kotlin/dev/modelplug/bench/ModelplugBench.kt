package dev.modelplug.bench

import dev.modelplug.ChatRequest
import dev.modelplug.Client
import dev.modelplug.Message
import dev.modelplug.StreamEvent
import kotlinx.serialization.json.addJsonObject
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonArray
import kotlinx.serialization.json.putJsonObject

/**
 * modelplug-kotlin: every call goes through the whole client (config alias, routing, attempts,
 * usage events), with retries off as in the other bindings' benchmarks.
 */
class ModelplugBench : BenchClient {
    private val client = Client.fromConfig(buildJsonObject {
        put("app", "bench")
        putJsonArray("models") {
            alias("bench", Workload.chatBase)
            alias("bench-stream", Workload.streamBase)
        }
    })

    private val messages = listOf(
        Message.system("You are a helpful assistant."),
        Message.user("Give me a short overview of Rust for SDK cores."),
    )
    private val request = ChatRequest("bench", messages, temperature = 0.2, maxTokens = 128)
    private val streamRequest = request.copy(model = "bench-stream")

    override val version = mavenVersion("dev.modelplug", "modelplug")

    override suspend fun chat(): Answer {
        val response = client.chat(request)
        return Answer(response.text, response.usage.totalTokens.toInt())
    }

    override suspend fun stream(onChunk: (String?, Int?) -> Unit) {
        client.stream(streamRequest).asFlow().collect { event ->
            when (event) {
                is StreamEvent.TextDelta -> onChunk(event.text, null)
                is StreamEvent.UsageReport -> onChunk(null, event.usage.totalTokens.toInt())
                else -> {}
            }
        }
    }

    override fun close() = client.close()
}

private fun kotlinx.serialization.json.JsonArrayBuilder.alias(name: String, baseUrl: String) = addJsonObject {
    put("name", name)
    putJsonObject("retry") { put("attempts", 0) }
    putJsonArray("deployments") {
        addJsonObject {
            put("provider", "openai")
            put("model", Workload.MODEL)
            put("api_key", Workload.API_KEY)
            put("base_url", baseUrl)
        }
    }
}
