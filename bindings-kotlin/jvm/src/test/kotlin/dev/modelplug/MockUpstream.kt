package dev.modelplug

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.boolean
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put

/** The repository root (set by Maven). */
val REPO: File = File(System.getProperty("modelplug.repo") ?: "../..").canonicalFile

/** The mock upstream (the Rust binary): started once, stopped at JVM exit. */
object MockUpstream {
    private val http: HttpClient = HttpClient.newHttpClient()
    private val process: Process
    /** `http://127.0.0.1:PORT`. */
    val url: String

    init {
        val binary = System.getenv("MODELPLUG_MOCK_UPSTREAM")?.let(::File)
            ?: File(REPO, "target/${System.getenv("CARGO_BUILD_TARGET") ?: "x86_64-unknown-linux-gnu"}/debug/modelplug-mock-upstream")
        require(binary.exists()) { "$binary is missing: cargo build -p modelplug-mock-upstream (make test does)" }
        process = ProcessBuilder(binary.path).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val first = process.inputStream.bufferedReader().readLine() ?: error("the mock upstream exited")
        require(first.startsWith("listening ")) { "mock upstream said $first" }
        url = first.removePrefix("listening ")
        Runtime.getRuntime().addShutdownHook(Thread { process.destroy() })
    }

    private fun call(method: String, path: String, body: JsonElement? = null): JsonElement {
        val request = HttpRequest.newBuilder(URI.create(url + path))
            .method(method, body?.let { HttpRequest.BodyPublishers.ofString(it.toString()) } ?: HttpRequest.BodyPublishers.noBody())
            .build()
        return Json.parseToJsonElement(http.send(request, HttpResponse.BodyHandlers.ofString()).body())
    }

    /** Registers steps; returns (id, base URL). */
    fun scenario(steps: JsonArray): Pair<String, String> {
        val r = call("POST", "/_mock/scenarios", buildJsonObject { put("steps", steps) }).jsonObject
        return r["id"]!!.jsonPrimitive.content to r["base"]!!.jsonPrimitive.content
    }

    /** Starts a usage receiver (a stand-in for the collector); returns (id, collector URL). */
    fun receiver(): Pair<String, String> {
        val r = call("POST", "/_receiver", buildJsonObject {}).jsonObject
        return r["id"]!!.jsonPrimitive.content to r["url"]!!.jsonPrimitive.content
    }

    /** What receiver [id] got: `events` (distinct), `posts`, `duplicates`… */
    fun received(id: String): JsonObject = call("GET", "/_receiver/$id").jsonObject

    /** What scenario [id] received. */
    fun requests(id: String): JsonArray = call("GET", "/_mock/scenarios/$id/requests").jsonArray

    /** What scenario [id] received, once every request is finished or aborted by the client
     * (up to [timeoutMs]): the mock notices a closed connection only at its next write. */
    fun settledRequests(id: String, timeoutMs: Long = 5000): JsonArray {
        val deadline = System.currentTimeMillis() + timeoutMs
        while (true) {
            val reqs = requests(id)
            val settled = reqs.all {
                val r = it.jsonObject
                r["finished"]!!.jsonPrimitive.boolean || r["client_aborted"]!!.jsonPrimitive.boolean
            }
            if (settled || System.currentTimeMillis() > deadline) return reqs
            Thread.sleep(20)
        }
    }

    /** Waits until scenario [id]'s first request saw the client go away. */
    fun waitForAbort(id: String, timeoutMs: Long = 5000): Boolean {
        val deadline = System.currentTimeMillis() + timeoutMs
        while (System.currentTimeMillis() < deadline) {
            val reqs = requests(id)
            if (reqs.isNotEmpty() && reqs[0].jsonObject["client_aborted"]!!.jsonPrimitive.boolean) return true
            Thread.sleep(50)
        }
        return false
    }
}

/** A step list from JSON text. */
fun steps(json: String): JsonArray = Json.parseToJsonElement(json).jsonArray

/** A one-alias config (`m`) pointing at [base]. */
fun configFor(base: String, retries: Int = 0): JsonObject = Json.parseToJsonElement(
    """{"models": [{"name": "m", "retry": {"attempts": $retries}, "deployments": [
        {"provider": "openai", "model": "gpt-4o", "api_key": "sk-test", "base_url": "$base/v1"}]}]}""",
).jsonObject
