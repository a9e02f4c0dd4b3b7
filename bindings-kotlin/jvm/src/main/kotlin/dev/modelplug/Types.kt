package dev.modelplug

import kotlinx.serialization.KSerializer
import kotlinx.serialization.SerialName
import kotlinx.serialization.Serializable
import kotlinx.serialization.Transient
import kotlinx.serialization.builtins.ListSerializer
import kotlinx.serialization.descriptors.SerialDescriptor
import kotlinx.serialization.descriptors.buildClassSerialDescriptor
import kotlinx.serialization.encoding.Decoder
import kotlinx.serialization.encoding.Encoder
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonDecoder
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonEncoder
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonObject

/** Who sent a message. */
@Serializable
enum class Role {
    @SerialName("system") SYSTEM,
    @SerialName("developer") DEVELOPER,
    @SerialName("user") USER,
    @SerialName("assistant") ASSISTANT,
    @SerialName("tool") TOOL,
}

/** One part of a multi-part message. */
@Serializable
sealed class ContentPart {
    /** Text. */
    @Serializable
    @SerialName("text")
    data class Text(val text: String) : ContentPart()

    /** An image by an https URL or a `data:` URL. */
    @Serializable
    @SerialName("image_url")
    data class ImageUrl(@SerialName("image_url") val imageUrl: Url) : ContentPart() {
        /** The URL and OpenAI's `detail` hint. */
        @Serializable
        data class Url(val url: String, val detail: String? = null)
    }

    /** An image as base64 bytes with their media type. */
    @Serializable
    @SerialName("image")
    data class Image(
        val url: String? = null,
        @SerialName("media_type") val mediaType: String? = null,
        val data: String? = null,
        val detail: String? = null,
    ) : ContentPart()
}

/** Message content: text, or a list of parts. */
@Serializable(with = ContentSerializer::class)
sealed interface Content {
    /** Plain text. */
    data class Text(val text: String) : Content

    /** Text and image parts, in order. */
    data class Parts(val parts: List<ContentPart>) : Content
}

/** A string or a list of parts on the wire. */
internal object ContentSerializer : KSerializer<Content> {
    private val parts = ListSerializer(ContentPart.serializer())
    override val descriptor: SerialDescriptor = buildClassSerialDescriptor("dev.modelplug.Content")

    override fun serialize(encoder: Encoder, value: Content) {
        val json = encoder as JsonEncoder
        when (value) {
            is Content.Text -> json.encodeJsonElement(JsonPrimitive(value.text))
            is Content.Parts -> json.encodeJsonElement(json.json.encodeToJsonElement(parts, value.parts))
        }
    }

    override fun deserialize(decoder: Decoder): Content {
        val json = decoder as JsonDecoder
        return when (val e = json.decodeJsonElement()) {
            is JsonPrimitive -> Content.Text(e.content)
            is JsonArray -> Content.Parts(json.json.decodeFromJsonElement(parts, e))
            else -> Content.Text("")
        }
    }
}

/**
 * A tool call made by the model (send it back in the assistant message that made it).
 * [signature] is the provider's opaque signature of the reasoning behind the call (Gemini
 * `thoughtSignature`); send it back unchanged.
 */
@Serializable
data class ToolCall(val id: String, val type: String = "function", val function: FunctionCall, val signature: String? = null)

/**
 * An opaque reasoning block a provider needs back unchanged on the next turn (Anthropic
 * `thinking` with its signature, `redacted_thinking`): take them from
 * [AssistantMessage.reasoningBlocks] into the next request's assistant message
 * ([AssistantMessage.toMessage] does).
 */
@Serializable
sealed class ReasoningBlock {
    /** Reasoning text with the provider's [signature] over it. */
    @Serializable
    @SerialName("thinking")
    data class Thinking(val text: String, val signature: String? = null) : ReasoningBlock()

    /** Reasoning the provider encrypted: only the provider can read [data]. */
    @Serializable
    @SerialName("redacted")
    data class Redacted(val data: String) : ReasoningBlock()
}

/**
 * A prompt-cache breakpoint (Anthropic `cache_control`; OpenAI caches on its own and ignores it).
 * [ttl]: `5m` (the default) or `1h`.
 */
@Serializable
data class CacheControl(val type: String = "ephemeral", val ttl: String? = null)

/** The function and JSON arguments text of a tool call. */
@Serializable
data class FunctionCall(val name: String, val arguments: String = "")

/** One message of the conversation. */
@Serializable
data class Message(
    val role: Role,
    val content: Content? = null,
    val name: String? = null,
    @SerialName("tool_calls") val toolCalls: List<ToolCall>? = null,
    @SerialName("tool_call_id") val toolCallId: String? = null,
    /** An earlier answer's [AssistantMessage.reasoningBlocks], unchanged (assistant messages only). */
    @SerialName("reasoning_blocks") val reasoningBlocks: List<ReasoningBlock>? = null,
    /** A prompt-cache breakpoint after this message. */
    @SerialName("cache_control") val cacheControl: CacheControl? = null,
) {
    companion object {
        /** A system message. */
        fun system(text: String) = Message(Role.SYSTEM, Content.Text(text))

        /** A user message. */
        fun user(text: String) = Message(Role.USER, Content.Text(text))

        /** A user message with text and image parts. */
        fun user(parts: List<ContentPart>) = Message(Role.USER, Content.Parts(parts))

        /** An assistant message (a previous answer, or its tool calls). */
        fun assistant(text: String?, toolCalls: List<ToolCall>? = null) =
            Message(Role.ASSISTANT, text?.let { Content.Text(it) }, toolCalls = toolCalls)

        /** A tool's result for the call [toolCallId]. */
        fun tool(toolCallId: String, text: String) = Message(Role.TOOL, Content.Text(text), toolCallId = toolCallId)
    }
}

/** A function the model may call; [cacheControl] is a prompt-cache breakpoint after its definition. */
@Serializable
data class Tool(
    val type: String = "function",
    val function: FunctionDef,
    @SerialName("cache_control") val cacheControl: CacheControl? = null,
) {
    companion object {
        /** A function tool with a JSON Schema for its arguments. */
        fun function(
            name: String,
            description: String? = null,
            parameters: JsonObject? = null,
            strict: Boolean? = null,
            cacheControl: CacheControl? = null,
        ) = Tool(function = FunctionDef(name, description, parameters, strict), cacheControl = cacheControl)
    }
}

/** A function's declaration. */
@Serializable
data class FunctionDef(
    val name: String,
    val description: String? = null,
    val parameters: JsonObject? = null,
    val strict: Boolean? = null,
)

/** Ready-made `tool_choice` and `response_format` values. */
object Choices {
    /** The model decides. */
    val auto: JsonElement = JsonPrimitive("auto")

    /** No tool calls. */
    val none: JsonElement = JsonPrimitive("none")

    /** At least one tool call. */
    val required: JsonElement = JsonPrimitive("required")

    /** This function must be called. */
    fun function(name: String): JsonElement = buildJsonObject {
        put("type", "function")
        putJsonObject("function") { put("name", name) }
    }

    /** Any JSON object. */
    val jsonObject: JsonElement = buildJsonObject { put("type", "json_object") }

    /** JSON matching [schema]. */
    fun jsonSchema(name: String, schema: JsonObject, strict: Boolean = true): JsonElement = buildJsonObject {
        put("type", "json_schema")
        putJsonObject("json_schema") {
            put("name", name)
            put("schema", schema)
            put("strict", strict)
        }
    }
}

/** Who is calling, for usage attribution (never sent to the provider). */
@Serializable
data class Metadata(
    /** Overrides the config's `app` for this call. */
    val app: String? = null,
    /** Overrides the config's `team` for this call. */
    val team: String? = null,
    /** The end user (an id, not a name). */
    val user: String? = null,
    /** Free-form tags. */
    val tags: List<String>? = null,
    /**
     * Free-form key/value attribution (a notebook's experiment, a backend's feature): at most 32,
     * keys 1–64 characters of letters, digits and `_-./:`, values up to 256 bytes (else a
     * [ModelplugException.InvalidRequest] naming the label).
     */
    val labels: Map<String, String>? = null,
    /**
     * The caller's W3C trace context, `00-<trace id>-<span id>-<flags>`. Filled in from the
     * current OpenTelemetry span (when the OpenTelemetry API is on the classpath) unless set.
     */
    val traceparent: String? = null,
)

/** A chat completion request. */
@Serializable
data class ChatRequest(
    /** A model alias from the config, or `provider/model`. */
    val model: String,
    val messages: List<Message>,
    val tools: List<Tool>? = null,
    /** `auto`, `none`, `required` or a function: see [Choices]. */
    @SerialName("tool_choice") val toolChoice: JsonElement? = null,
    @SerialName("parallel_tool_calls") val parallelToolCalls: Boolean? = null,
    /** See [Choices.jsonObject] and [Choices.jsonSchema]. */
    @SerialName("response_format") val responseFormat: JsonElement? = null,
    val temperature: Double? = null,
    @SerialName("top_p") val topP: Double? = null,
    @SerialName("max_tokens") val maxTokens: Int? = null,
    val stop: List<String>? = null,
    val seed: Long? = null,
    @SerialName("presence_penalty") val presencePenalty: Double? = null,
    @SerialName("frequency_penalty") val frequencyPenalty: Double? = null,
    @SerialName("reasoning_effort") val reasoningEffort: String? = null,
    val metadata: Metadata? = null,
    /** Provider-specific parameters, merged into the provider's request body as given. */
    val extra: JsonObject? = null,
    /** Deadline for the whole call, across retries and fallbacks. */
    @SerialName("timeout_ms") val timeoutMs: Long? = null,
    /** Keep the provider's raw JSON answer in [ChatResponse.raw] (and a failed call's raw error body in [ModelplugException.raw]). */
    @SerialName("include_raw") val includeRaw: Boolean? = null,
)

/** An embeddings request. */
@Serializable
data class EmbedRequest(
    val model: String,
    val input: List<String>,
    val dimensions: Int? = null,
    val metadata: Metadata? = null,
    val extra: JsonObject? = null,
    @SerialName("timeout_ms") val timeoutMs: Long? = null,
)

/**
 * Token counts: [outputTokens] includes [reasoningTokens]; [cachedInputTokens] (read from the
 * provider's prompt cache) and [cacheWriteTokens] (written to it) are part of [inputTokens].
 */
@Serializable
data class Usage(
    @SerialName("input_tokens") val inputTokens: Long = 0,
    @SerialName("output_tokens") val outputTokens: Long = 0,
    @SerialName("cached_input_tokens") val cachedInputTokens: Long = 0,
    @SerialName("cache_write_tokens") val cacheWriteTokens: Long = 0,
    @SerialName("reasoning_tokens") val reasoningTokens: Long = 0,
    @SerialName("total_tokens") val totalTokens: Long = 0,
)

/** One try of one deployment: [error] is `null` when it succeeded. */
@Serializable
data class Attempt(
    val provider: String,
    val deployment: String,
    val model: String,
    val error: String? = null,
    val status: Int? = null,
    @SerialName("latency_ms") val latencyMs: Double,
) {
    /** `ok` or the error code. */
    val outcome: String get() = error ?: "ok"
}

/**
 * What one guardrail did on a call: a rule of the config's `guardrails:` or a custom
 * [Guardrail]. Never the matched text.
 */
@Serializable
data class GuardrailOutcome(
    /** The guardrail's name. */
    val name: String,
    /** The texts it checked: `input` or `output`. */
    val stage: String,
    /**
     * What it did: `pass` (ran, found nothing), `redact`, `block`, `warn`, or `error` (a custom
     * guardrail threw or timed out and fails open).
     */
    val action: String,
    /** How many matches it found (0 for `pass`; 1 for checks without spans, such as custom ones). */
    val count: Int = 0,
)

/** The assistant's side of a completion. */
@Serializable
data class AssistantMessage(
    val role: String = "assistant",
    val content: String? = null,
    @SerialName("tool_calls") val toolCalls: List<ToolCall> = emptyList(),
    val reasoning: String? = null,
    val refusal: String? = null,
    /** The provider's opaque reasoning blocks, in order (see [ReasoningBlock]). */
    @SerialName("reasoning_blocks") val reasoningBlocks: List<ReasoningBlock> = emptyList(),
) {
    /** This answer as the assistant message of the next request: text, tool calls and reasoning blocks. */
    fun toMessage(): Message = Message(
        Role.ASSISTANT,
        content?.let { Content.Text(it) },
        toolCalls = toolCalls.ifEmpty { null },
        reasoningBlocks = reasoningBlocks.ifEmpty { null },
    )
}

/** A chat completion. */
@Serializable
data class ChatResponse(
    val id: String? = null,
    val message: AssistantMessage,
    /** `stop`, `length`, `tool_calls`, `content_filter` or `other`. */
    @SerialName("finish_reason") val finishReason: String,
    val usage: Usage,
    @SerialName("cost_usd") val costUsd: Double? = null,
    val provider: String,
    val deployment: String,
    /** The model as the provider reported serving it. */
    val model: String,
    @SerialName("latency_ms") val latencyMs: Double,
    /** Every try the router made; the last one succeeded. */
    val attempts: List<Attempt>,
    /** What each guardrail did, in the order they ran (empty without guardrails); on a stream, the [StreamEvent.Done] response's. */
    val guardrails: List<GuardrailOutcome> = emptyList(),
    @SerialName("cache_hit") val cacheHit: Boolean = false,
    @SerialName("request_id") val requestId: String? = null,
    /** The provider's raw JSON answer, when the request set `includeRaw`. */
    val raw: JsonElement? = null,
) {
    /** The answer text (`""` when the model only called tools). */
    val text: String get() = message.content ?: ""

    /** The tool calls the model made. */
    val toolCalls: List<ToolCall> get() = message.toolCalls

    @Transient
    internal var source: JsonSource = JsonSource.EMPTY

    /** The response's JSON form (the same in every modelplug binding). */
    fun toJson(): JsonObject = source.json
}

/** Embedding vectors, one per input, in input order. */
@Serializable
data class EmbedResponse(
    val embeddings: List<List<Float>>,
    val usage: Usage,
    @SerialName("cost_usd") val costUsd: Double? = null,
    val provider: String,
    val deployment: String,
    val model: String,
    @SerialName("latency_ms") val latencyMs: Double,
    val attempts: List<Attempt>,
    @SerialName("request_id") val requestId: String? = null,
    /** What each input guardrail did, in the order they ran (empty without guardrails). */
    val guardrails: List<GuardrailOutcome> = emptyList(),
) {
    @Transient
    internal var source: JsonSource = JsonSource.EMPTY

    /** The response's JSON form. */
    fun toJson(): JsonObject = source.json
}

/** Everything a stream emits. */
@Serializable
sealed class StreamEvent {
    /** A piece of the answer text. */
    @Serializable
    @SerialName("text_delta")
    data class TextDelta(val text: String) : StreamEvent()

    /** A piece of the reasoning text a provider exposes. */
    @Serializable
    @SerialName("reasoning_delta")
    data class ReasoningDelta(val text: String) : StreamEvent()

    /** A piece of a tool call; the first piece of each call has its [id] and [name]. */
    @Serializable
    @SerialName("tool_call_delta")
    data class ToolCallDelta(val index: Int, val id: String? = null, val name: String? = null, val arguments: String = "") :
        StreamEvent()

    /** Token counts for the whole stream. */
    @Serializable
    @SerialName("usage")
    data class UsageReport(val usage: Usage) : StreamEvent()

    /** The end of the stream, with the assembled response. */
    @Serializable
    @SerialName("done")
    data class Done(val response: ChatResponse) : StreamEvent()
}

/** `JsonNull` as "absent" for optional JSON fields. */
internal fun JsonElement?.orNull(): JsonElement? = if (this == null || this is JsonNull) null else this
