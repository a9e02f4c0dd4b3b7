package dev.modelplug

import dev.modelplug.ffi.ffiLiveClients
import java.lang.ref.WeakReference
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** `close()` is the core's close; what a closed client still does; when the native client is freed. */
class CloseTest {
    private val mockConfig = """{"models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}]}"""

    private fun ask(text: String) = ChatRequest("m", listOf(Message.user(text)))

    private fun statuses(usage: List<JsonObject>) = usage.map { it["status"]!!.jsonPrimitive.content }

    @Test
    fun `after close calls throw Cancelled while usage, models and the hash stay readable`() = runBlocking {
        val client = Client.fromConfigJson(mockConfig)
        assertEquals("hi", client.chat(ask("hi")).text)
        assertFalse(client.isClosed)
        client.close()
        assertTrue(client.isClosed)
        assertThrows(ModelplugException.Cancelled::class.java) { runBlocking { client.chat(ask("hi")) } }
        assertThrows(ModelplugException.Cancelled::class.java) { runBlocking { client.embed(EmbedRequest("m", listOf("a"))) } }
        assertThrows(ModelplugException.Cancelled::class.java) { runBlocking { client.stream(ask("hi")).asFlow().toList() } }
        assertEquals(listOf("ok"), statuses(client.usage()), "the call made before close() is still there")
        assertEquals(listOf("m"), client.models)
        assertTrue(client.configHash.isNotEmpty())
        client.close() // idempotent
        assertTrue(client.isClosed)
    }

    @Test
    fun `close lets a call in flight finish`() = runBlocking {
        val (id, base) = MockUpstream.scenario(steps("""[{"reply": {"text": "slow body"}, "chunk_bytes": 32, "chunk_delay_ms": 30}]"""))
        val client = Client.fromConfig(configFor(base))
        val answer = async(Dispatchers.Default) { client.chat(ask("go")) }
        while (MockUpstream.requests(id).isEmpty()) delay(10) // the call is in flight
        withContext(Dispatchers.IO) { client.close() }
        assertEquals(listOf("ok"), statuses(client.usage()), "close() returned before the call in flight ended")
        assertEquals("slow body", answer.await().text)
    }

    @Test
    fun `the native client is freed once the closed Client is garbage-collected`() {
        val before = settledLiveClients()
        val collected = closedClient(before)
        val deadline = System.currentTimeMillis() + 10_000
        while ((collected.get() != null || ffiLiveClients() != before) && System.currentTimeMillis() < deadline) {
            System.gc()
            Thread.sleep(20)
        }
        assertTrue(collected.get() == null, "the Client was never collected")
        assertEquals(before, ffiLiveClients(), "the collected Client's native client was not freed")
    }

    /** A client built, used and closed here, so that nothing on the caller's stack refers to it. */
    private fun closedClient(before: ULong): WeakReference<Client> {
        val client = Client.fromConfigJson(mockConfig)
        assertEquals(before + 1u, ffiLiveClients())
        runBlocking { client.chat(ask("hi")) }
        client.close()
        assertEquals(before + 1u, ffiLiveClients(), "close() must keep the native client: usage() still reads it")
        assertEquals(1, client.usage().size)
        return WeakReference(client)
    }

    /** The live native client count once earlier tests' unreachable clients are freed. */
    private fun settledLiveClients(): ULong {
        var last = ffiLiveClients()
        var same = 0
        val deadline = System.currentTimeMillis() + 5_000
        while (same < 5 && System.currentTimeMillis() < deadline) {
            System.gc()
            Thread.sleep(20)
            val now = ffiLiveClients()
            same = if (now == last) same + 1 else 0
            last = now
        }
        return last
    }
}
