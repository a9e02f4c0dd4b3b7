package dev.modelplug

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotSame
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * The per-thread call status that bindings-kotlin/reuse-call-status.py patches into the
 * generated bindings: reused while clean, replaced after a failure, and failures still reported.
 */
class CallStatusReuseTest {
    private val statuses: ThreadLocal<*> = Class.forName("dev.modelplug.ffi.Modelplug_kotlinKt")
        .getDeclaredField("uniffiCallStatuses")
        .apply { isAccessible = true }
        .get(null) as ThreadLocal<*>

    private val mockConfig = """{"models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}]}"""

    @Test
    fun `a clean status is reused and a failed one replaced`() {
        Client.fromConfigJson(mockConfig).use { client ->
            val hash = client.configHash
            val status = checkNotNull(statuses.get())
            repeat(3) { assertEquals(hash, client.configHash) }
            assertSame(status, statuses.get(), "successful calls reuse this thread's status")

            // A failing call on the same thread: the error still arrives whole, and the thread
            // moves on to a fresh status (freeing the error's buffer already needed one).
            val error = assertThrows(ModelplugException.Config::class.java) { Client.fromConfigJson("""{"models": 3}""") }
            assertTrue("models" in error.message!!, error.message)
            val fresh = checkNotNull(statuses.get())
            assertNotSame(status, fresh, "a status that carried an error is not reused")
            assertEquals(listOf("m"), client.models)
            assertEquals(hash, client.configHash)
            assertSame(fresh, statuses.get())
        }
    }

    @Test
    fun `failures and successes alternate on one thread`() {
        Client.fromConfigJson(mockConfig).use { client ->
            repeat(50) { i ->
                val error = assertThrows(ModelplugException.Config::class.java) { Client.fromConfigJson("""{"modles": $i}""") }
                assertTrue("did you mean `models`" in error.message!!, error.message)
                assertEquals(listOf("m"), client.models)
            }
        }
    }
}
