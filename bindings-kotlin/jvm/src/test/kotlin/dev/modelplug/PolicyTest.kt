package dev.modelplug

import java.io.File
import java.net.InetAddress
import java.net.ServerSocket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.addJsonObject
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonArray
import kotlinx.serialization.json.putJsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * Central policy reaches a running Kotlin client: each test starts the real modelplug-collector
 * (fresh SQLite file, free loopback port, admin and ingest keys made with its CLI), builds a
 * [Client] watching it (`collector.policy` with the collector's public key), then changes the
 * policy with `PUT /v1/policy` as admin and polls until the running client enforces it — and,
 * after a newer empty version, stops enforcing it. No timing is asserted beyond a generous 10 s
 * limit; how long enforcement took is printed.
 */
class PolicyTest {
    @TempDir
    lateinit var dir: File

    private val ask = ChatRequest("m", listOf(Message.user("tell me about the merger")))

    @Test
    fun `a policy PUT on the collector is enforced by a running client, and lifted by a newer one`() = withCollector { collector ->
        collector.client().use { client ->
            runBlocking {
                assertTrue("merger" in client.chat(ask).text, "the echo mock answers with the prompt")

                val v1 = collector.putPolicy(NO_MERGERS)
                pollUntil("deny_topics rule (version $v1) enforced") { blockedBy(client, "no-mergers") }

                val v2 = collector.putPolicy("{}", "application/json")
                assertTrue(v2 > v1, "version $v2 after $v1")
                pollUntil("empty policy (version $v2) lifts the rule") { passes(client) }
                assertTrue("merger" in client.chat(ask).text)
            }
        }
    }

    @Test
    fun `a blocked model in the policy leaves no deployment - GUARDRAIL_BLOCKED`() = withCollector { collector ->
        collector.client().use { client ->
            runBlocking {
                client.chat(ask)
                val v1 = collector.putPolicy("models: { blocked: [echo] }\n")
                // The policy's `models:` section becomes a rule named `models@<section>`.
                pollUntil("models.blocked (version $v1) enforced") { blockedBy(client, "models") }
            }
        }
    }

    /** True when the call fails with GUARDRAIL_BLOCKED naming [rule]; false when it succeeds. */
    private suspend fun blockedBy(client: Client, rule: String): Boolean =
        try {
            client.chat(ask)
            false
        } catch (e: ModelplugException.GuardrailBlocked) {
            assertTrue(rule in e.message!!, "blocked, but not by `$rule`: ${e.message}")
            true
        }

    /** True when the call succeeds; false when it fails with GUARDRAIL_BLOCKED. */
    private suspend fun passes(client: Client): Boolean =
        try {
            client.chat(ask)
            true
        } catch (e: ModelplugException.GuardrailBlocked) {
            false
        }

    /** Calls [check] every ~20 ms until it is true (at most 10 s); prints how long it took. */
    private suspend fun pollUntil(what: String, check: suspend () -> Boolean) {
        val started = System.nanoTime()
        while (!check()) {
            if (System.nanoTime() - started > LIMIT_MS * 1_000_000) fail<Unit>("$what: not within ${LIMIT_MS / 1000} s")
            delay(POLL_MS)
        }
        println("PolicyTest: $what: ${(System.nanoTime() - started) / 1_000_000} ms after PUT /v1/policy returned")
    }

    /** A running collector with an admin key and an ingest key for app [APP]. */
    inner class Collector(val url: String, private val adminKey: String, private val ingestKey: String, private val publicKey: String) {
        /** PUTs a policy as admin; the new version. */
        fun putPolicy(body: String, contentType: String = "application/yaml"): Long {
            val (status, text) = send(
                HttpRequest.newBuilder(URI.create("$url/v1/policy"))
                    .header("Authorization", "Bearer $adminKey")
                    .header("Content-Type", contentType)
                    .PUT(HttpRequest.BodyPublishers.ofString(body)),
            )
            assertEquals(201, status, "PUT /v1/policy answered $status: $text")
            return Json.parseToJsonElement(text).jsonObject["version"]!!.jsonPrimitive.long
        }

        /** A client of app [APP] watching this collector's policy. */
        fun client(): Client = Client.fromConfig(
            buildJsonObject {
                put("app", APP)
                putJsonObject("collector") {
                    put("url", url)
                    put("key", ingestKey)
                    put("spool_dir", File(dir, "spool").path)
                    putJsonObject("policy") {
                        put("public_key", publicKey)
                        put("cache_file", File(dir, "policy-cache.json").path)
                    }
                }
                putJsonArray("models") {
                    addJsonObject {
                        put("name", "m")
                        putJsonArray("deployments") {
                            addJsonObject {
                                put("provider", "mock")
                                put("model", "echo")
                            }
                        }
                    }
                }
            },
        )
    }

    /** Runs [body] with a fresh collector, stopped afterwards however [body] ends; skipped when it has no policy endpoints yet. */
    private fun withCollector(body: (Collector) -> Unit) {
        val binary = System.getenv("MODELPLUG_COLLECTOR")?.let(::File)
            ?: File(REPO, "target/${System.getenv("CARGO_BUILD_TARGET") ?: "x86_64-unknown-linux-gnu"}/debug/modelplug-collector")
        require(binary.exists()) { "$binary is missing: build it with `make collector` (make test-kotlin does)" }
        val db = "sqlite://${File(dir, "collector.db").path}"
        val adminKey = cli(binary, "keys", "create", "--admin", "--db", db)
        val ingestKey = cli(binary, "keys", "create", "--app", APP, "--db", db)
        val log = File(dir, "collector.log")
        val (process, url) = serve(binary, db, log) ?: serve(binary, db, log)
            ?: fail<Pair<Process, String>>("the collector did not start: ${log.readText()}")
        try {
            val (status, text) = send(HttpRequest.newBuilder(URI.create("$url/v1/policy/public-key")).GET())
            assumeTrue(status != 404, "this collector has no policy endpoints yet (GET /v1/policy/public-key: 404 $text)")
            assertEquals(200, status, "GET /v1/policy/public-key answered $status: $text")
            val publicKey = Json.parseToJsonElement(text).jsonObject["public_key"]!!.jsonPrimitive.content
            assertTrue(publicKey.startsWith("ed25519:"), publicKey)
            body(Collector(url, adminKey, ingestKey, publicKey))
        } finally {
            process.destroy() // SIGTERM
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly()
                process.waitFor()
            }
        }
    }

    /** `serve` on a free port: the process and its URL once /healthz answers, or null when it exited first (the port was taken meanwhile). */
    private fun serve(binary: File, db: String, log: File): Pair<Process, String>? {
        val port = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
        val process = ProcessBuilder(binary.path, "serve", "--db", db, "--listen", "127.0.0.1:$port")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(log)
            .start()
        val url = "http://127.0.0.1:$port"
        val deadline = System.nanoTime() + 15_000_000_000
        while (process.isAlive) {
            try {
                if (send(HttpRequest.newBuilder(URI.create("$url/healthz")).GET()).first == 200) return process to url
            } catch (e: java.io.IOException) {
                if (System.nanoTime() > deadline) {
                    process.destroyForcibly().waitFor()
                    fail<Unit>("the collector did not answer /healthz within 15 s: ${log.readText()}")
                }
            }
            Thread.sleep(20)
        }
        return null
    }

    /** The collector's CLI; its stdout (a key, for `keys create`). */
    private fun cli(binary: File, vararg args: String): String {
        val process = ProcessBuilder(binary.path, *args).redirectError(File(dir, "cli.err")).start()
        val out = process.inputStream.bufferedReader().readText()
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "modelplug-collector ${args.joinToString(" ")} did not finish")
        assertEquals(0, process.exitValue(), "modelplug-collector ${args.joinToString(" ")}: ${File(dir, "cli.err").readText()}")
        return out.trim()
    }

    private fun send(request: HttpRequest.Builder): Pair<Int, String> {
        val r = http.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString())
        return r.statusCode() to r.body()
    }

    private companion object {
        const val APP = "ledger"
        const val NO_MERGERS = "guardrails:\n  - { name: no-mergers, kind: deny_topics, topics: [merger], action: block }\n"
        const val LIMIT_MS = 10_000L
        const val POLL_MS = 20L
        val http: HttpClient = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build()
    }
}
