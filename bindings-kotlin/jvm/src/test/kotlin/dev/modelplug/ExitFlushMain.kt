package dev.modelplug

import kotlinx.coroutines.runBlocking

/**
 * The child process of `UsageTest`'s exit test: two clients reporting to a collector make `n`
 * calls between them, and the JVM exits without `close()` or `flush()` — the shutdown hook must
 * deliver the events. Arguments: collector URL, spool directory, n.
 */
object ExitFlushMain {
    @JvmStatic
    fun main(args: Array<String>) {
        val (url, spool, n) = args
        fun client(app: String) = Client.fromConfigJson(
            """{"app": "$app", "collector": {"url": "$url", "key": "k", "spool_dir": "$spool/$app", "flush_interval_ms": 3600000},
                "models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}]}""",
        )
        val clients = listOf(client("exit-flush-a"), client("exit-flush-b"))
        runBlocking {
            repeat(n.toInt()) { i -> clients[i % 2].chat(ChatRequest("m", listOf(Message.user("call $i")))) }
        }
        println("done")
        // No close(), no flush(): returning from main ends the JVM, and its shutdown hook closes both clients.
    }
}
