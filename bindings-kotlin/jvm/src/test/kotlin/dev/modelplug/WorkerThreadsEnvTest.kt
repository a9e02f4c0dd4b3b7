package dev.modelplug

import java.io.File
import java.util.concurrent.TimeUnit
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * A bad `MODELPLUG_WORKER_THREADS` is the first client constructor's [ModelplugException.Config].
 * The runtime is built once per process, so this runs in a child JVM with the variable set.
 */
class WorkerThreadsEnvTest {
    @Test
    fun `a bad worker count is the constructor's config error`() {
        val java = File(System.getProperty("java.home"), "bin/java").path
        val child = ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), ConstructInChild::class.java.name)
            .redirectErrorStream(true)
            .apply { environment()["MODELPLUG_WORKER_THREADS"] = "two" }
            .start()
        val output = child.inputStream.bufferedReader().readText()
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child JVM did not exit")
        assertEquals(0, child.exitValue(), output)
        assertTrue(output.startsWith("CONFIG ") && "MODELPLUG_WORKER_THREADS must be a whole number" in output, output)
    }
}

/** The child JVM: builds a client and prints the error's code and message. */
object ConstructInChild {
    @JvmStatic
    fun main(args: Array<String>) {
        try {
            Client.fromConfigJson("""{"models": []}""").close()
            println("no error")
        } catch (e: ModelplugException.Config) {
            println("${e.code} ${e.message}")
        }
    }
}
