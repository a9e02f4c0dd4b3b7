package dev.modelplug

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The core's runtime threads stay attached to the JVM after waking a coroutine ([NativeThreads]). */
class NativeThreadsTest {
    @Test
    fun `runtime threads stay attached as daemons after a call`() = runBlocking {
        Client.fromConfigJson("""{"models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}]}""").use { client ->
            repeat(3) { assertEquals("hi $it", client.chat(ChatRequest("m", listOf(Message.user("hi $it")))).text) }
        }
        val attached = Thread.getAllStackTraces().keys.filter { it.name == "modelplug-core" }
        assertTrue(attached.isNotEmpty(), "no runtime thread stayed attached")
        assertTrue(attached.all { it.isDaemon }, "attached runtime threads must not keep the JVM alive")
    }
}
