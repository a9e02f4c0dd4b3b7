package dev.modelplug

import io.opentelemetry.api.trace.Span
import io.opentelemetry.context.Context
import io.opentelemetry.sdk.trace.ReadWriteSpan
import io.opentelemetry.sdk.trace.ReadableSpan
import io.opentelemetry.sdk.trace.SdkTracerProvider
import io.opentelemetry.sdk.trace.SpanProcessor
import java.io.File
import java.nio.file.Files
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import java.util.logging.Handler
import java.util.logging.LogRecord
import java.util.logging.Logger
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.boolean
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonArray
import kotlinx.serialization.json.putJsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * Usage leaving the process: `onUsage` (events as [JsonObject]s, exceptions contained), `flush`,
 * the shutdown hook (a child JVM that never closes its clients), the caller's OpenTelemetry
 * trace context on events, and the new [Metadata] fields.
 */
class UsageTest {
    private val models = """"models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}]"""
    private val hi = ChatRequest("m", listOf(Message.user("hi")))

    private fun JsonObject.str(key: String): String? = this[key]?.jsonPrimitive?.let { if (it.isString) it.content else null }

    /** A config reporting to [url]; an hour between batches: only a flush or a close sends. */
    private fun collectorConfig(url: String): String {
        val spool = Files.createTempDirectory("mp-spool-").toString()
        return """{"app": "delivery-tests", "collector": {"url": "$url", "key": "k", "spool_dir": "$spool", "flush_interval_ms": 3600000}, $models}"""
    }

    @Test
    fun `onUsage gets every event as a JsonObject, and flush returns after it had them all`() = runBlocking {
        val seen = CopyOnWriteArrayList<JsonObject>()
        val client = Client.fromConfigJson("""{"app": "cb", $models}""", onUsage = { seen.add(it) })
        client.chat(hi.copy(metadata = Metadata(labels = mapOf("experiment" to "exp-42"))))
        client.stream(hi).asFlow().toList()
        client.embed(EmbedRequest("m", listOf("a", "b")))
        client.flush()
        assertEquals(
            listOf("chat" to false, "chat" to true, "embeddings" to false),
            seen.map { it.str("operation") to it["stream"]!!.jsonPrimitive.boolean },
        )
        assertEquals(mapOf("experiment" to "exp-42"), seen[0]["labels"]!!.jsonObject.mapValues { it.value.jsonPrimitive.content })
        assertEquals(client.usage(), seen.toList())
        client.close()
    }

    @Test
    fun `every factory takes onUsage, and close delivers what is left`() = runBlocking {
        val file = File.createTempFile("modelplug", ".yaml").apply {
            writeText("app: from-file\nmodels:\n  - name: m\n    deployments: [{provider: mock, model: echo}]\n")
            deleteOnExit()
        }
        val seen = CopyOnWriteArrayList<String?>()
        val clients = listOf(
            Client.fromConfigFile(file.path) { seen.add(it.str("app")) },
            Client.fromConfig(Json.parseToJsonElement("""{"app": "from-object", $models}""").jsonObject) { seen.add(it.str("app")) },
            Client.fromConfigJson("""{"app": "from-json", $models}""") { seen.add(it.str("app")) },
            Client { seen.add(it.str("model_requested")) },
        )
        for (client in clients.dropLast(1)) client.chat(hi)
        clients.last().chat(ChatRequest("mock/echo", listOf(Message.user("hi"))))
        clients.forEach { it.close() }
        assertEquals(listOf("from-file", "from-object", "from-json", "mock/echo"), seen.toList())
    }

    @Test
    fun `an exception thrown by onUsage is caught and logged once, and later events still arrive`() = runBlocking {
        val logged = CopyOnWriteArrayList<LogRecord>()
        val handler = object : Handler() {
            override fun publish(record: LogRecord) { logged.add(record) }
            override fun flush() {}
            override fun close() {}
        }
        val logger = Logger.getLogger("dev.modelplug")
        logger.addHandler(handler)
        try {
            var calls = 0
            val client = Client.fromConfigJson("{$models}") {
                calls += 1
                throw IllegalStateException("the callback broke")
            }
            repeat(3) { assertEquals("hi", client.chat(hi).text) }
            client.flush()
            assertEquals(3, calls)
            client.chat(hi)
            client.flush()
            assertEquals(4, calls)
            assertEquals(1, logged.size, "logged once")
            assertTrue(logged[0].thrown is IllegalStateException)
            client.close()
        } finally {
            logger.removeHandler(handler)
        }
    }

    @Test
    fun `flush delivers buffered events to the collector`() = runBlocking {
        val (id, url) = MockUpstream.receiver()
        val client = Client.fromConfigJson(collectorConfig(url))
        repeat(5) { client.chat(hi) }
        client.flush(10.seconds)
        val received = MockUpstream.received(id)
        val events = received["events"]!!.jsonArray.map { it.jsonObject }
        assertEquals(5, events.size)
        assertEquals(0, received["duplicates"]!!.jsonPrimitive.int)
        assertEquals(client.usage().map { it.str("id") }.toSet(), events.map { it.str("id") }.toSet())
        client.close()
    }

    @Test
    fun `flush rejects a negative timeout`() {
        val client = Client.fromConfigJson("{$models}")
        assertThrows(IllegalArgumentException::class.java) { runBlocking { client.flush((-1).seconds) } }
        client.close()
    }

    @Test
    fun `usage is flushed by the shutdown hook when the JVM exits without close`() {
        val (id, url) = MockUpstream.receiver()
        val n = 20
        val java = File(System.getProperty("java.home"), "bin/java").path
        // The test classpath without OpenTelemetry: the package must work without it.
        val classpath = (System.getProperty("surefire.test.class.path") ?: System.getProperty("java.class.path"))
            .split(File.pathSeparator)
            .filterNot { it.contains("${File.separator}io${File.separator}opentelemetry${File.separator}") }
            .joinToString(File.pathSeparator)
        val spool = Files.createTempDirectory("mp-spool-").toString()
        val child = ProcessBuilder(java, "-cp", classpath, ExitFlushMain::class.java.name, url, spool, n.toString())
            .redirectErrorStream(true)
            .start()
        val output = child.inputStream.bufferedReader().readText()
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the child JVM did not exit by itself")
        assertEquals(0, child.exitValue(), output)
        assertEquals("done", output.trim(), output)
        val received = MockUpstream.received(id)
        val apps = received["events"]!!.jsonArray.map { it.jsonObject.str("app") }
        assertEquals(n, apps.size, received.toString())
        assertEquals(0, received["duplicates"]!!.jsonPrimitive.int)
        assertEquals(n / 2 to n / 2, apps.count { it == "exit-flush-a" } to apps.count { it == "exit-flush-b" })
    }

    @Test
    fun `calls made while a span is current carry its traceparent, outside none`() {
        // A provider without a span processor hands out a no-op tracer: give it one that does nothing.
        val processor = object : SpanProcessor {
            override fun onStart(parentContext: Context, span: ReadWriteSpan) {}
            override fun isStartRequired() = false
            override fun onEnd(span: ReadableSpan) {}
            override fun isEndRequired() = false
        }
        val tracer = SdkTracerProvider.builder().addSpanProcessor(processor).build().get("modelplug-tests")
        val client = Client.fromConfigJson("{$models}")
        val own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        val span = tracer.spanBuilder("outer").startSpan()
        span.makeCurrent().use {
            runBlocking {
                client.chat(hi)
                client.stream(hi).asFlow().toList()
                client.embed(EmbedRequest("m", listOf("x")))
                client.chat(buildJsonObject {
                    put("model", "m")
                    putJsonArray("messages") { add(buildJsonObject { put("role", "user"); put("content", "json") }) }
                    putJsonObject("metadata") { putJsonObject("labels") { put("k", "v") } }
                })
                client.chat(hi.copy(metadata = Metadata(traceparent = own))) // the request's own wins
            }
        }
        span.end()
        runBlocking { client.chat(hi) } // outside the span
        assertNull(Span.current().spanContext.takeIf { it.isValid })
        val ctx = span.spanContext
        val expected = "00-${ctx.traceId}-${ctx.spanId}-${ctx.traceFlags.asHex()}"
        assertTrue(ctx.isValid && ctx.isSampled && Regex("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}").matches(expected), expected)
        val events = client.usage()
        assertEquals(listOf(expected, expected, expected, expected, own, null), events.map { it.str("traceparent") })
        assertEquals("v", events[3]["labels"]!!.jsonObject["k"]!!.jsonPrimitive.content)
        client.close()
    }

    @Test
    fun `Metadata carries labels and traceparent in the request JSON`() {
        val request = hi.copy(metadata = Metadata(user = "u-17", labels = mapOf("feature" to "summary"), traceparent = "00-${"1".repeat(32)}-${"2".repeat(16)}-01"))
        val json = Json.parseToJsonElement(Codec.requests.encodeToString(ChatRequest.serializer(), request)).jsonObject["metadata"]!!.jsonObject
        assertEquals(setOf("user", "labels", "traceparent"), json.keys)
        assertEquals("summary", json["labels"]!!.jsonObject["feature"]!!.jsonPrimitive.content)
        assertEquals(request, Codec.requests.decodeFromString(ChatRequest.serializer(), Codec.requests.encodeToString(ChatRequest.serializer(), request)))
    }
}
