package dev.modelplug

import dev.modelplug.ffi.FfiClient
import java.util.concurrent.atomic.AtomicBoolean
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
    private val closed = AtomicBoolean(false)

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

    private inline fun <T> open(call: () -> T): T {
        if (closed.get()) throw ModelplugException.internal("the client is closed", code = "CANCELLED")
        return native(call)
    }

    /** One chat completion. Throws a [ModelplugException] subclass. */
    suspend fun chat(request: ChatRequest): ChatResponse = chatJson(Codec.requests.encodeToString(ChatRequest.serializer(), request))

    /** One chat completion from an OpenAI-shaped JSON request. */
    suspend fun chat(request: JsonObject): ChatResponse = chatJson(request.toString())

    private suspend fun chatJson(request: String): ChatResponse = Codec.chatResponse(open { ffi.chat(request) })

    /** Embeddings for a batch of texts. */
    suspend fun embed(request: EmbedRequest): EmbedResponse = embedJson(Codec.requests.encodeToString(EmbedRequest.serializer(), request))

    /** Embeddings from a JSON request. */
    suspend fun embed(request: JsonObject): EmbedResponse = embedJson(request.toString())

    private suspend fun embedJson(request: String): EmbedResponse = Codec.embedResponse(open { ffi.embed(request) })

    /** A streamed chat completion: `client.stream(request).asFlow().collect { ... }`. */
    fun stream(request: ChatRequest): ChatStream = ChatStream(open { ffi.stream(Codec.requests.encodeToString(ChatRequest.serializer(), request)) })

    /** A streamed chat completion from an OpenAI-shaped JSON request. */
    fun stream(request: JsonObject): ChatStream = ChatStream(open { ffi.stream(request.toString()) })

    /** This process's usage events for this client (the last 10 000 calls), as JSON objects; no prompt text. */
    fun usage(): List<JsonObject> = Codec.lenient.decodeFromString(ListSerializer(JsonObject.serializer()), open { ffi.usage() })

    /** The config's stable hash (secrets and layout excluded). */
    val configHash: String get() = open { ffi.configHash() }

    /** The model aliases the config defines. */
    val models: List<String> get() = open { ffi.models() }

    /** Whether [close] was called. */
    val isClosed: Boolean get() = closed.get()

    /** Closes the client and releases the native one; later calls throw [ModelplugException.Cancelled]. */
    override fun close() {
        if (closed.compareAndSet(false, true)) {
            ffi.shutdown()
            ffi.destroy()
        }
    }
}
