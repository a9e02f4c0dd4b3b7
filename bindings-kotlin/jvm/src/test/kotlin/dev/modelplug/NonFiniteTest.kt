package dev.modelplug

import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonArray
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** A NaN or an infinity in a request reaches the core, which names the field (INVALID_REQUEST). */
class NonFiniteTest {
    private val mockConfig = """{"models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}]}"""

    private fun invalid(vararg words: String, call: suspend (Client) -> Unit) {
        Client.fromConfigJson(mockConfig).use { client ->
            val e = assertThrows(ModelplugException.InvalidRequest::class.java) { runBlocking { call(client) } }
            for (word in words) assertTrue(word in e.message!!, "<$word> not in <${e.message}>")
            assertEquals(emptyList<Any>(), client.usage(), "an invalid request makes no call")
        }
    }

    @Test
    fun `a NaN temperature in a typed request`() = invalid("`temperature`", "finite", "NaN") { client ->
        client.chat(ChatRequest("m", listOf(Message.user("hi")), temperature = Double.NaN))
    }

    @Test
    fun `an infinite top_p in a typed stream request`() = invalid("`top_p`", "Infinity") { client ->
        client.stream(ChatRequest("m", listOf(Message.user("hi")), topP = Double.POSITIVE_INFINITY)).asFlow().toList()
    }

    @Test
    fun `a NaN in a JsonObject request`() = invalid("`temperature`", "NaN") { client ->
        client.chat(
            buildJsonObject {
                put("model", "m")
                put("messages", JsonArray(listOf(buildJsonObject { put("role", "user"); put("content", "hi") })))
                put("temperature", JsonPrimitive(Double.NaN))
            },
        )
    }

    @Test
    fun `a negative infinity deep in extra of an embeddings request`() = invalid("`extra.a.b[1]`", "-Infinity") { client ->
        val extra = buildJsonObject {
            putJsonObject("a") { put("b", buildJsonArray { add(JsonPrimitive(1)); add(JsonPrimitive(Double.NEGATIVE_INFINITY)) }) }
        }
        client.embed(EmbedRequest("m", listOf("a"), extra = extra))
    }
}
