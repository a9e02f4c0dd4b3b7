package dev.modelplug

import dev.modelplug.ffi.FfiClient
import kotlinx.serialization.builtins.ListSerializer
import kotlinx.serialization.json.JsonObject

/**
 * Calls any configured LLM provider through one API, with retries and failover. The work runs
 * in the Rust core on its own threads; calls are `suspend` functions, and cancelling the calling
 * coroutine cancels the request.
 *
 * ```kotlin
 * Client.fromConfigFile("modelplug.yaml").use { client ->
 *     val answer = client.chat(ChatRequest("smart", listOf(Message.user("Hi"))))
 *     println(answer.text)
 * }
 * ```
 */
class Client private constructor(private val ffi: FfiClient) : AutoCloseable {
    companion object {
        init {
            NativeThreads.install()
        }

        /** A client for a `modelplug.yaml` file (secrets from the environment). */
        fun fromConfigFile(path: String): Client = Client(native { FfiClient.fromFile(path) })

        /** A client for a config given as JSON text (the same fields as `modelplug.yaml`). */
        fun fromConfigJson(json: String): Client = Client(native { FfiClient(json) })

        /** A client for a config given as a JSON object. */
        fun fromConfig(config: JsonObject): Client = fromConfigJson(config.toString())

        /** A client without a config: name models `provider/model`; keys come from the environment. */
        operator fun invoke(): Client = Client(native { FfiClient(null) })
    }

    /** One chat completion. Throws a [ModelplugException] subclass. */
    suspend fun chat(request: ChatRequest): ChatResponse = chatJson(Codec.requests.encodeToString(ChatRequest.serializer(), request))

    /** One chat completion from an OpenAI-shaped JSON request. */
    suspend fun chat(request: JsonObject): ChatResponse = chatJson(request.toString())

    private suspend fun chatJson(request: String): ChatResponse = Codec.chatResponse(ffi.chat(request))

    /** Embeddings for a batch of texts. */
    suspend fun embed(request: EmbedRequest): EmbedResponse = embedJson(Codec.requests.encodeToString(EmbedRequest.serializer(), request))

    /** Embeddings from a JSON request. */
    suspend fun embed(request: JsonObject): EmbedResponse = embedJson(request.toString())

    private suspend fun embedJson(request: String): EmbedResponse = Codec.embedResponse(ffi.embed(request))

    /** A streamed chat completion: `client.stream(request).asFlow().collect { ... }`. */
    fun stream(request: ChatRequest): ChatStream = ChatStream(ffi.stream(Codec.requests.encodeToString(ChatRequest.serializer(), request)))

    /** A streamed chat completion from an OpenAI-shaped JSON request. */
    fun stream(request: JsonObject): ChatStream = ChatStream(ffi.stream(request.toString()))

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
     * Closes the client: later calls throw [ModelplugException.Cancelled]; it waits up to 5 s
     * for calls in flight (one still running then is not cut off; it is recorded when it ends);
     * buffered usage is flushed. Blocks this thread meanwhile. [usage] stays readable; the native client is freed once this object is
     * garbage-collected. Idempotent.
     */
    override fun close() = native { ffi.shutdown() }
}
