package dev.modelplug

import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The Kotlin/Rust boundary: concurrency, cancellation, error classes, typed requests. */
class BoundariesTest {
    private val slowStream = steps(
        """[{"reply": {"text": "a long answer that arrives slowly, piece by piece, over the wire"}, "chunk_bytes": 60, "chunk_delay_ms": 80}]""",
    )

    @Test
    fun `200 concurrent coroutines complete`() = runBlocking {
        val (id, base) = MockUpstream.scenario(steps("""[{"echo": true}]"""))
        Client.fromConfig(configFor(base)).use { client ->
            val answers = coroutineScope {
                (0 until 200).map { i -> async { client.chat(ChatRequest("m", listOf(Message.user("call $i")))).text } }.awaitAll()
            }
            assertEquals((0 until 200).map { "call $it" }, answers)
        }
        assertEquals(200, MockUpstream.requests(id).size)
    }

    @Test
    fun `cancelling the collecting coroutine mid-stream stops the request`() = runBlocking {
        val (id, base) = MockUpstream.scenario(slowStream)
        Client.fromConfig(configFor(base)).use { client ->
            val firstSeen = Channel<StreamEvent>(1)
            val job = launch {
                client.stream(ChatRequest("m", listOf(Message.user("go")))).asFlow().collect { firstSeen.trySend(it) }
            }
            val first = withTimeout(5.seconds) { firstSeen.receive() }
            assertTrue(first is StreamEvent.TextDelta, "$first")
            job.cancelAndJoin()
        }
        assertTrue(MockUpstream.waitForAbort(id), "the upstream never saw the client go away")
    }

    @Test
    fun `taking only part of a stream closes it`() = runBlocking {
        val (id, base) = MockUpstream.scenario(slowStream)
        Client.fromConfig(configFor(base)).use { client ->
            val stream = client.stream(ChatRequest("m", listOf(Message.user("go"))))
            assertTrue(stream.asFlow().first() is StreamEvent.TextDelta)
            assertNull(stream.response)
        }
        assertTrue(MockUpstream.waitForAbort(id))
    }

    @Test
    fun `a stream is freed when its collection ends`() = runBlocking {
        Client.fromConfigJson("""{"models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}]}""").use { client ->
            val stream = client.stream(ChatRequest("m", listOf(Message.user("once"))))
            assertEquals("once", (stream.asFlow().toList().last() as StreamEvent.Done).response.text)
            val again = assertThrows(IllegalStateException::class.java) { runBlocking { stream.asFlow().toList() } }
            assertEquals("a ChatStream can be collected once", again.message)
            stream.close() // a no-op once freed
            assertEquals(listOf("ok"), client.usage().map { it["status"]!!.jsonPrimitive.content })
        }
    }

    @Test
    fun `cancelling a chat coroutine cancels its request`() = runBlocking {
        val (id, base) = MockUpstream.scenario(steps("""[{"reply": {"text": "slow body"}, "chunk_bytes": 16, "chunk_delay_ms": 100}]"""))
        Client.fromConfig(configFor(base)).use { client ->
            val job = launch { client.chat(ChatRequest("m", listOf(Message.user("go")))) }
            delay(250) // the answer's body is still arriving
            job.cancelAndJoin()
        }
        assertTrue(MockUpstream.waitForAbort(id))
    }

    @Test
    fun `errors arrive as the right sealed subclasses`() = runBlocking {
        val (_, base) = MockUpstream.scenario(
            steps("""[{"status": 429, "error": {"message": "slow down", "code": "rate_limit_exceeded"}, "headers": {"retry-after": "2"}}]"""),
        )
        Client.fromConfig(configFor(base)).use { client ->
            val e = assertThrows(ModelplugException::class.java) { runBlocking { client.chat(ChatRequest("m", listOf(Message.user("x")))) } }
            val kind = when (e) {
                is ModelplugException.RateLimited -> "rate limited"
                is ModelplugException.InvalidRequest, is ModelplugException.Authentication, is ModelplugException.PermissionDenied,
                is ModelplugException.NotFound, is ModelplugException.Timeout, is ModelplugException.ProviderUnavailable,
                is ModelplugException.ContextLengthExceeded, is ModelplugException.ContentFiltered, is ModelplugException.GuardrailBlocked,
                is ModelplugException.BudgetExceeded, is ModelplugException.AllDeploymentsFailed, is ModelplugException.Cancelled,
                is ModelplugException.Network, is ModelplugException.Config, is ModelplugException.Internal,
                -> "something else"
            }
            assertEquals("rate limited", kind)
            assertEquals(429, e.status)
            assertEquals(2.seconds, e.retryAfter)
            assertEquals(listOf("RATE_LIMITED"), e.attempts.map { it.outcome })
            assertEquals("[RATE_LIMITED] openai: slow down (HTTP 429)", e.toString())
            assertThrows(ModelplugException.NotFound::class.java) { runBlocking { client.chat(ChatRequest("nope", listOf(Message.user("x")))) } }
            assertThrows(ModelplugException.InvalidRequest::class.java) {
                runBlocking { client.chat(buildJsonObject { put("model", "m"); put("max_token", 5) }) }
            }
        }
        val config = assertThrows(ModelplugException.Config::class.java) {
            Client.fromConfigJson("""{"models": [{"name": "m", "deployments": [{"provider": "opnai", "model": "x"}]}]}""")
        }
        assertTrue("did you mean `openai`" in config.message!!, config.message)
    }

    @Test
    fun `typed requests, tools and streams`() = runBlocking {
        Client.fromConfigJson(
            """{"models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo", "mock": {"chunk_chars": 3}}]}]}""",
        ).use { client ->
            val tool = Tool.function("lookup", "Looks things up", buildJsonObject { put("type", "object") })
            val called = client.chat(ChatRequest("m", listOf(Message.user("find it")), tools = listOf(tool), toolChoice = Choices.required))
            assertEquals("tool_calls", called.finishReason)
            val call = called.toolCalls.single()
            assertEquals("lookup", call.function.name)
            val followUp = listOf(Message.user("find it"), Message.assistant(null, called.toolCalls), Message.tool(call.id, "{}"), Message.user("thanks"))
            assertEquals("thanks", client.chat(ChatRequest("m", followUp)).text)

            val stream = client.stream(ChatRequest("m", listOf(Message.user("stream this"))))
            val events = stream.asFlow().toList()
            assertEquals("stream this", events.filterIsInstance<StreamEvent.TextDelta>().joinToString("") { it.text })
            assertEquals("stream this", (events.last() as StreamEvent.Done).response.text)
            assertEquals(stream.response!!.usage.totalTokens, events.filterIsInstance<StreamEvent.UsageReport>().single().usage.totalTokens)

            val vectors = client.embed(EmbedRequest("m", listOf("a", "b"), dimensions = 4))
            assertEquals(listOf(4, 4), vectors.embeddings.map { it.size })
            val usage = client.usage()
            assertEquals(4, usage.size)
            assertTrue(usage.none { "find it" in it.toString() }, "usage events carry no prompt text")
        }
    }
}
