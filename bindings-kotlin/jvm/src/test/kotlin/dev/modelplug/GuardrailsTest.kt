package dev.modelplug

import java.util.Collections
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.JsonArray
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** Custom guardrails written in Kotlin: verdicts, outcomes, throws, timeouts, and that nothing waits on a check. */
class GuardrailsTest {
    private val echo = """{"models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}]}"""

    private fun ask(text: String) = ChatRequest("m", listOf(Message.user(text)))

    @Test
    fun `a check gets its input, its redaction applies and the outcomes are typed on every response`() = runBlocking {
        val seen = Collections.synchronizedList(mutableListOf<GuardrailInput>())
        val codenames = Guardrail("codenames", stage = "both") { input ->
            seen.add(input)
            if (input.texts.any { "falcon" in it }) Verdict.Redact(input.texts.map { it.replace("falcon", "[PROJECT]") }) else null
        }
        Client.fromConfigJson(echo, guardrails = listOf(codenames)).use { client ->
            val answer = client.chat(ask("codename falcon ready"))
            assertEquals("codename [PROJECT] ready", answer.text)
            assertEquals(
                listOf(GuardrailOutcome("codenames", "input", "redact", 1), GuardrailOutcome("codenames", "output", "pass", 0)),
                answer.guardrails,
            )
            assertEquals(GuardrailInput("codenames", "input", listOf("codename falcon ready"), "m"), seen[0])
            assertEquals(GuardrailInput("codenames", "output", listOf("codename [PROJECT] ready"), "m"), seen[1])
            assertFalse("falcon" in seen[0].toString(), "GuardrailInput.toString() shows no text: ${seen[0]}")

            val usage = client.usage().last()
            assertEquals(2, (usage["guardrails"] as JsonArray).size)

            val done = client.stream(ask("falcon again")).asFlow().toList().last() as StreamEvent.Done
            assertEquals("[PROJECT] again", done.response.text)
            assertEquals(listOf("redact", "pass"), done.response.guardrails.map { it.action })
        }
        Client.fromConfigJson(echo, guardrails = listOf(Guardrail("quiet") { null })).use { client ->
            val embedded = client.embed(EmbedRequest("m", listOf("a", "b")))
            assertEquals(listOf(GuardrailOutcome("quiet", "input", "pass", 0)), embedded.guardrails)
        }
        Client.fromConfigJson(echo).use { client -> assertEquals(emptyList<GuardrailOutcome>(), client.chat(ask("hi")).guardrails) }
    }

    /**
     * The echo mock's whole answer arrives in one read, so the stream's end is reached while
     * events are being batched (the Rust side reads one event per batch for such clients; see
     * `BATCH_WITH_OUTPUT_CHECKS` in bindings-kotlin/src/stream.rs).
     */
    @Test
    fun `a custom output check on a stream keeps its Done event`() = runBlocking {
        Client.fromConfigJson(echo, guardrails = listOf(Guardrail("watch", stage = "output") { Verdict.Warn })).use { client ->
            repeat(5) {
                val done = client.stream(ask("all good $it")).asFlow().toList().last() as StreamEvent.Done
                assertEquals(listOf(GuardrailOutcome("watch", "output", "warn", 1)), done.response.guardrails)
            }
        }
    }

    @Test
    fun `block and warn verdicts`() = runBlocking {
        val block = Guardrail("no-falcon") { input -> if (input.texts.any { "falcon" in it }) Verdict.Block else Verdict.Pass }
        val warn = Guardrail.blocking("watch", stage = "output") { Verdict.Warn }
        Client.fromConfigJson(echo, guardrails = listOf(block, warn)).use { client ->
            val e = assertThrows(ModelplugException.GuardrailBlocked::class.java) { runBlocking { client.chat(ask("project falcon")) } }
            assertTrue("no-falcon" in e.message!! && "project falcon" !in e.message!!, e.message)
            val ok = client.chat(ask("hello"))
            assertEquals(listOf(GuardrailOutcome("no-falcon", "input", "pass", 0), GuardrailOutcome("watch", "output", "warn", 1)), ok.guardrails)
        }
    }

    @Test
    fun `a throwing check reports only the exception's class name`() = runBlocking {
        class PolicyServiceDown : Exception("policy service down while checking: my secret text")
        val cases = listOf<Pair<Guardrail, String>>(
            Guardrail("suspending") { throw IllegalArgumentException("my secret text") } to "IllegalArgumentException",
            Guardrail.blocking("blocking") { throw PolicyServiceDown() } to "PolicyServiceDown",
            Guardrail.blocking("todo") { TODO("my secret text") } to "NotImplementedError",
            // The check's own timeout is a throw like any other, not the core cancelling it.
            Guardrail("own-timeout") { withTimeout(10) { delay(5_000) }; null } to "TimeoutCancellationException",
        )
        for ((guardrail, kind) in cases) {
            Client.fromConfigJson(echo, guardrails = listOf(guardrail)).use { client ->
                val e = assertThrows(ModelplugException.GuardrailBlocked::class.java) { runBlocking { client.chat(ask("hi")) } }
                assertTrue("raised $kind" in e.message!! && "fails closed" in e.message!!, e.message)
                assertFalse("secret" in e.message!!, e.message)
            }
        }
        val open = Guardrail("lenient", fail = "open") { error("my secret text") }
        Client.fromConfigJson(echo, guardrails = listOf(open)).use { client ->
            assertEquals(listOf(GuardrailOutcome("lenient", "input", "error", 1)), client.chat(ask("hi")).guardrails)
        }
    }

    @Test
    fun `bad stage, fail, timeout or name is the factory's CONFIG error`() {
        val bad = listOf(
            Guardrail("g", stage = "sideways") { null },
            Guardrail("g", fail = "maybe") { null },
            Guardrail("g", timeoutMs = 0) { null },
            Guardrail("g", timeoutMs = -5) { null },
            Guardrail(" ") { null },
        )
        for (guardrail in bad) {
            val e = assertThrows(ModelplugException.Config::class.java) { Client.fromConfigJson(echo, guardrails = listOf(guardrail)) }
            assertTrue("guardrail" in e.message!!, e.message)
        }
    }

    @Test
    fun `slow blocking checks hold up neither other calls nor the caller's event loop`() =
        slowChecksDoNotBlock(Guardrail.blocking("slow", timeoutMs = 10_000) { input -> if (input.texts.any { "slow" in it }) Thread.sleep(SLOW_MS); null })

    @Test
    fun `slow suspending checks hold up neither other calls nor the caller's event loop`() =
        slowChecksDoNotBlock(Guardrail("slow", timeoutMs = 10_000) { input -> if (input.texts.any { "slow" in it }) delay(SLOW_MS); null })

    /**
     * More slow checks in flight than the core has runtime threads (so a check holding one would
     * stall everything), all on the single thread of `runBlocking`: fast calls on the same client
     * and on a client without guardrails finish meanwhile, and that thread keeps ticking.
     */
    private fun slowChecksDoNotBlock(slow: Guardrail) = runBlocking {
        Client.fromConfigJson(echo, guardrails = listOf(slow)).use { client ->
            Client.fromConfigJson(echo).use { plain ->
                val ticks = AtomicInteger()
                val ticker = launch {
                    while (true) {
                        delay(10)
                        ticks.incrementAndGet()
                    }
                }
                val started = System.nanoTime()
                val slowCalls = (0 until 2 * Runtime.getRuntime().availableProcessors() + 2).map { i -> async { client.chat(ask("slow $i")) } }
                delay(100) // the slow checks are running
                val fast = (0 until 10).map { i -> async { client.chat(ask("fast $i")).text + plain.chat(ask("plain $i")).text } }.awaitAll()
                val fastMs = (System.nanoTime() - started) / 1_000_000
                assertEquals((0 until 10).map { "fast ${it}plain $it" }, fast)
                assertTrue(slowCalls.none { it.isCompleted }, "the slow checks ended before the fast calls")
                assertTrue(fastMs < SLOW_MS - 500, "fast calls took $fastMs ms next to checks of $SLOW_MS ms")
                val ticksWhileFast = ticks.get()
                assertTrue(ticksWhileFast >= 3, "the caller's thread ticked $ticksWhileFast times in $fastMs ms")
                val answers = slowCalls.awaitAll()
                assertTrue(answers.all { it.guardrails.single().action == "pass" })
                ticker.cancel()
            }
        }
    }

    @Test
    fun `a blocking check that times out is interrupted and the client goes on`() = runBlocking {
        val interrupted = CompletableDeferred<Unit>()
        val stuck = Guardrail.blocking("stuck", timeoutMs = 100, fail = "open") { input ->
            if (input.texts.any { "stuck" in it }) {
                try {
                    Thread.sleep(60_000)
                } catch (e: InterruptedException) {
                    interrupted.complete(Unit)
                    throw e
                }
            }
            null
        }
        Client.fromConfigJson(echo, guardrails = listOf(stuck)).use { client ->
            val started = System.nanoTime()
            val answer = client.chat(ask("stuck"))
            assertTrue((System.nanoTime() - started) / 1_000_000 < 5_000, "the timed-out check held the call")
            assertEquals(listOf(GuardrailOutcome("stuck", "input", "error", 1)), answer.guardrails)
            withTimeout(5.seconds) { interrupted.await() }
            repeat(3) { assertEquals("pass", client.chat(ask("hello $it")).guardrails.single().action) }
        }
    }

    @Test
    fun `a suspending check that times out is cancelled and the client goes on`() = runBlocking {
        val cancelled = CompletableDeferred<Unit>()
        val stuck = Guardrail("stuck", timeoutMs = 100) { input ->
            if (input.texts.any { "stuck" in it }) {
                try {
                    delay(60_000)
                } finally {
                    cancelled.complete(Unit)
                }
            }
            null
        }
        Client.fromConfigJson(echo, guardrails = listOf(stuck)).use { client ->
            val e = assertThrows(ModelplugException.GuardrailBlocked::class.java) { runBlocking { client.chat(ask("stuck")) } }
            assertTrue("timed out after 100 ms" in e.message!!, e.message)
            withTimeout(5.seconds) { cancelled.await() }
            repeat(3) { assertEquals("pass", client.chat(ask("hello $it")).guardrails.single().action) }
        }
    }

    @Test
    fun `verdicts in the core's JSON form`() {
        assertEquals("""{"action":"pass"}""", GuardrailAdapter.verdictJson(Verdict.Pass))
        assertEquals("""{"action":"block"}""", GuardrailAdapter.verdictJson(Verdict.Block))
        assertEquals("""{"action":"warn"}""", GuardrailAdapter.verdictJson(Verdict.Warn))
        assertEquals("""{"action":"redact","texts":["a","b \""]}""", GuardrailAdapter.verdictJson(Verdict.Redact(listOf("a", "b \""))))
        assertEquals("Redact(<2 texts>)", Verdict.Redact(listOf("secret", "text")).toString())
    }

    private companion object {
        const val SLOW_MS = 2_500L
    }
}
