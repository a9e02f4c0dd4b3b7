package dev.modelplug.examples

import dev.modelplug.ChatRequest
import dev.modelplug.Client
import dev.modelplug.EmbedRequest
import dev.modelplug.Message
import dev.modelplug.StreamEvent
import dev.modelplug.Tool
import java.io.File
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonObject

/** The shared demo config, `examples/modelplug.yaml` (reads MODELPLUG_DEMO_UPSTREAM). */
val CONFIG: File = File(System.getProperty("modelplug.config") ?: "../modelplug.yaml")

/** The demo scenarios — failover, streaming, tools, embeddings, the mock provider — one line each. */
suspend fun run(client: Client): List<String> {
    val out = mutableListOf<String>()

    val answer = client.chat(ChatRequest("smart", listOf(Message.user("What is the capital of France?"))))
    val tries = answer.attempts.joinToString(" → ") { "${it.deployment} ${it.outcome}" }
    out += "chat     \"${answer.text}\" from ${answer.deployment} (${answer.usage.totalTokens} tokens, " +
        "%.1f ms; tries: $tries)".format(answer.latencyMs)

    var pieces = 0
    val stream = client.stream(ChatRequest("fast", listOf(Message.user("What is the capital of the UK?"))))
    stream.asFlow().collect { if (it is StreamEvent.TextDelta) pieces += 1 }
    val done = stream.response!!
    out += "stream   \"${done.text}\" in $pieces pieces from ${done.provider} (${done.usage.totalTokens} tokens)"

    val parameters = buildJsonObject {
        put("type", "object")
        putJsonObject("properties") {}
    }
    val tool = Tool.function("get_user_country", "The user's country", parameters)
    val called = client.chat(ChatRequest("tools", listOf(Message.user("What is the largest city in the user country?")), tools = listOf(tool)))
    for (call in called.toolCalls) {
        out += "tools    the model calls ${call.function.name}(${call.function.arguments}) [${call.id}]"
    }

    val vectors = client.embed(EmbedRequest("embed", listOf("Hello, world!")))
    out += "embed    ${vectors.embeddings.size} vector of ${vectors.embeddings[0].size} dimensions (${vectors.usage.inputTokens} tokens)"

    val echo = client.chat(ChatRequest("local", listOf(Message.user("no network needed"))))
    out += "mock     \"${echo.text}\" from the ${echo.provider} provider"

    val costs = listOf(answer.costUsd, done.costUsd, called.costUsd, vectors.costUsd, echo.costUsd)
    val priced = costs.filterNotNull()
    out += "cost     $%.6f for ${costs.size} calls (${priced.size} priced by the config's price table)".format(priced.sum())
    return out
}

fun main() = runBlocking {
    Client.fromConfigFile(CONFIG.path).use { client ->
        println("config ${CONFIG.canonicalPath} (hash ${client.configHash})")
        run(client).forEach(::println)
    }
}
