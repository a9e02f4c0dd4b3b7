package dev.modelplug

import dev.modelplug.ffi.FfiClient
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.serialization.builtins.ListSerializer
import kotlinx.serialization.json.JsonObject

/**
 * Calls any configured LLM provider through one API, with retries and failover. The work runs
 * in the Rust core on its own threads; calls are `suspend` functions, and cancelling the calling
 * coroutine cancels the request.
 *
 * ```kotlin
 * Client.fromConfigFile("modelplug.yaml", onUsage = { event -> println(event["cost_usd"]) }).use { client ->
 *     val answer = client.chat(ChatRequest("smart", listOf(Message.user("Hi")),
 *         metadata = Metadata(user = "u-17", labels = mapOf("feature" to "summary"))))
 *     println(answer.text)
 * }
 * ```
 *
 * Usage events leave in the background (to the config's collector and sinks, and to `onUsage`):
 * [flush] waits for them, [close] too, and a client still open when the JVM shuts down is
 * closed by a shutdown hook (waiting at most 5 s). When the OpenTelemetry API is on the
 * classpath, a call made while a span is current carries that span's `traceparent` in its
 * metadata unless the request sets one.
 *
 * Every factory takes `onUsage`: it is called with each usage event (the same [JsonObject] as a
 * [usage] row: `id`, `model`, `input_tokens`, `cost_usd`, `labels`, `traceparent`, and `content`
 * when the config turns content capture on) on one of the core's background threads, in
 * batches, never on the call's path. Whatever it throws is caught and logged once (logger
 * `dev.modelplug`); later events still reach it.
 *
 * Every factory also takes `guardrails`: custom [Guardrail]s written in Kotlin, run in order
 * on every call after the config's `guardrails:` rules (`Client.fromConfigFile(path, guardrails
 * = listOf(Guardrail("no-codenames") { input -> ... }))`). The core checks them when the client
 * is built: a bad `stage`, `fail` or `timeoutMs` throws [ModelplugException.Config].
 */
class Client private constructor(internal val ffi: FfiClient) : AutoCloseable {
    init {
        Exit.track(this)
    }

    companion object {
        init {
            NativeThreads.install()
        }

        /** A client for a `modelplug.yaml` file (secrets from the environment); see the class doc for [guardrails] and [onUsage]. */
        fun fromConfigFile(path: String, guardrails: List<Guardrail> = emptyList(), onUsage: ((JsonObject) -> Unit)? = null): Client =
            Client(native { FfiClient.fromFile(path, guardrails.map(GuardrailAdapter::native), onUsage?.let(::UsageListener)) })

        /** A client for a config given as JSON text (the same fields as `modelplug.yaml`); see the class doc for [guardrails] and [onUsage]. */
        fun fromConfigJson(json: String, guardrails: List<Guardrail> = emptyList(), onUsage: ((JsonObject) -> Unit)? = null): Client =
            Client(native { FfiClient(json, guardrails.map(GuardrailAdapter::native), onUsage?.let(::UsageListener)) })

        /** A client for a config given as a JSON object; see the class doc for [guardrails] and [onUsage]. */
        fun fromConfig(config: JsonObject, guardrails: List<Guardrail> = emptyList(), onUsage: ((JsonObject) -> Unit)? = null): Client =
            fromConfigJson(config.toString(), guardrails, onUsage)

        /** A client without a config: name models `provider/model`; keys come from the environment. See the class doc for [guardrails] and [onUsage]. */
        operator fun invoke(guardrails: List<Guardrail> = emptyList(), onUsage: ((JsonObject) -> Unit)? = null): Client =
            Client(native { FfiClient(null, guardrails.map(GuardrailAdapter::native), onUsage?.let(::UsageListener)) })
    }

    /** One chat completion. Throws a [ModelplugException] subclass. */
    suspend fun chat(request: ChatRequest): ChatResponse = chatJson(Codec.requests.encodeToString(ChatRequest.serializer(), Trace.apply(request)))

    /** One chat completion from an OpenAI-shaped JSON request. */
    suspend fun chat(request: JsonObject): ChatResponse = chatJson(Trace.apply(request).toString())

    private suspend fun chatJson(request: String): ChatResponse = Codec.chatResponse(ffi.chat(request))

    /** Embeddings for a batch of texts. */
    suspend fun embed(request: EmbedRequest): EmbedResponse = embedJson(Codec.requests.encodeToString(EmbedRequest.serializer(), Trace.apply(request)))

    /** Embeddings from a JSON request. */
    suspend fun embed(request: JsonObject): EmbedResponse = embedJson(Trace.apply(request).toString())

    private suspend fun embedJson(request: String): EmbedResponse = Codec.embedResponse(ffi.embed(request))

    /** A streamed chat completion: `client.stream(request).asFlow().collect { ... }`. */
    fun stream(request: ChatRequest): ChatStream = ChatStream(ffi.stream(Codec.requests.encodeToString(ChatRequest.serializer(), Trace.apply(request))))

    /** A streamed chat completion from an OpenAI-shaped JSON request. */
    fun stream(request: JsonObject): ChatStream = ChatStream(ffi.stream(Trace.apply(request).toString()))

    /**
     * This process's usage events for this client (the last 10 000 calls), oldest first, as JSON
     * objects in the usage event schema (`schema/usage-event.schema.json`): `status` is `ok`,
     * `error`, `blocked` or `cancelled`; no prompt text. Still readable after [close].
     */
    fun usage(): List<JsonObject> = Codec.lenient.decodeFromString(ListSerializer(JsonObject.serializer()), Codec.ok(ffi.usage()))

    /** The config's stable hash (secrets and layout excluded). */
    val configHash: String get() = ffi.configHash()

    /** The model aliases the config defines. */
    val models: List<String> get() = ffi.models()

    /** Whether [close] was called. */
    val isClosed: Boolean get() = ffi.isClosed()

    /**
     * Waits until the usage recorded so far has been delivered — to the collector (or its disk
     * spool), the config's sinks and `onUsage` (every event has reached it when this returns) —
     * for at most [timeout] (then throws [ModelplugException.Timeout]). Cancelling the calling
     * coroutine stops the wait.
     */
    suspend fun flush(timeout: Duration = 5.seconds) {
        require(!timeout.isNegative()) { "timeout must not be negative, got $timeout" }
        Codec.ok(ffi.flush(timeout.inWholeMilliseconds.toULong()))
    }

    /**
     * Closes the client: later calls throw [ModelplugException.Cancelled]; it waits up to 5 s
     * for calls in flight (one still running then is not cut off; it is recorded when it ends);
     * buffered usage is flushed as by [flush]. Blocks this thread meanwhile. [usage] stays
     * readable; the native client is freed once this object is garbage-collected. Idempotent.
     * A client still open when the JVM shuts down is closed then.
     */
    override fun close() {
        Exit.forget(this)
        native { ffi.shutdown() }
    }
}
