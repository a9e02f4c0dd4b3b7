package dev.modelplug

import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.serialization.builtins.ListSerializer
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.booleanOrNull
import kotlinx.serialization.json.doubleOrNull
import kotlinx.serialization.json.intOrNull
import kotlinx.serialization.json.jsonPrimitive

/** What every modelplug error carries (the error's JSON form, decoded). */
data class ErrorInfo(
    /** The stable error code, e.g. `RATE_LIMITED`. */
    val code: String,
    /** What went wrong (never a prompt or a secret). */
    val message: String,
    /** The provider that failed, if any. */
    val provider: String? = null,
    /** The provider's HTTP status, if any. */
    val status: Int? = null,
    /** How long the provider asked to wait, if it said. */
    val retryAfter: Duration? = null,
    /** The provider's request id (for support tickets). */
    val requestId: String? = null,
    /** The provider's own error code (e.g. `insufficient_quota`). */
    val providerCode: String? = null,
    /** Whether retrying the same deployment may succeed. */
    val retryable: Boolean = false,
    /** Every try the router made, in order. */
    val attempts: List<Attempt> = emptyList(),
    /** The provider's raw error body, only when the request set `include_raw`. */
    val raw: String? = null,
    /** The JSON form itself. */
    val json: JsonObject = JsonObject(emptyMap()),
)

/**
 * A modelplug error: one subclass per stable error code, so `when` over them is exhaustive.
 * Messages never contain prompts, completions or secrets.
 */
sealed class ModelplugException(val info: ErrorInfo) : Exception(info.message) {
    /** The stable error code. */
    val code: String get() = info.code
    /** The provider that failed, if any. */
    val provider: String? get() = info.provider
    /** The provider's HTTP status, if any. */
    val status: Int? get() = info.status
    /** How long the provider asked to wait, if it said. */
    val retryAfter: Duration? get() = info.retryAfter
    /** The provider's request id. */
    val requestId: String? get() = info.requestId
    /** Every try the router made, in order. */
    val attempts: List<Attempt> get() = info.attempts
    /** The provider's raw error body, only when the request set `include_raw`. */
    val raw: String? get() = info.raw

    override fun toString(): String {
        val where = provider?.let { " $it:" } ?: ""
        val http = status?.let { " (HTTP $it)" } ?: ""
        return "[$code]$where $message$http"
    }

    /** The error's JSON form (the same in every modelplug binding). */
    fun toJson(): JsonObject = info.json

    /** The request was malformed or used a parameter the provider rejects. */
    class InvalidRequest internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** The provider rejected the credentials. */
    class Authentication internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** The credentials are valid but not allowed to do this. */
    class PermissionDenied internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** The model, deployment or endpoint does not exist. */
    class NotFound internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** The provider asked to slow down, or the account ran out of quota. */
    class RateLimited internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** The provider did not answer within the deadline. */
    class Timeout internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** The provider failed, is overloaded, or sent something unreadable. */
    class ProviderUnavailable internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** The prompt does not fit the model's context window. */
    class ContextLengthExceeded internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** The provider's content policy refused the prompt or the answer. */
    class ContentFiltered internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** A modelplug guardrail blocked the call. */
    class GuardrailBlocked internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** A budget set in central policy is used up. */
    class BudgetExceeded internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** Every deployment, fallbacks included, was tried and failed. */
    class AllDeploymentsFailed internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** The call was cancelled (not the coroutine: that throws `CancellationException`), or the client was closed. */
    class Cancelled internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** The connection failed before a provider answer arrived. */
    class Network internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** The configuration is invalid; the message names file, line and field. */
    class Config internal constructor(info: ErrorInfo) : ModelplugException(info)
    /** A bug in modelplug, or an error code this version does not know ([code] keeps it). */
    class Internal internal constructor(info: ErrorInfo) : ModelplugException(info)

    companion object {
        /**
         * The one place an error code becomes an exception class (house rule 3). A code this
         * version does not know (from a newer core) becomes [Internal], keeping its [code].
         */
        fun of(info: ErrorInfo): ModelplugException = when (info.code) {
            "INVALID_REQUEST" -> InvalidRequest(info)
            "AUTHENTICATION" -> Authentication(info)
            "PERMISSION_DENIED" -> PermissionDenied(info)
            "NOT_FOUND" -> NotFound(info)
            "RATE_LIMITED" -> RateLimited(info)
            "TIMEOUT" -> Timeout(info)
            "PROVIDER_UNAVAILABLE" -> ProviderUnavailable(info)
            "CONTEXT_LENGTH_EXCEEDED" -> ContextLengthExceeded(info)
            "CONTENT_FILTERED" -> ContentFiltered(info)
            "GUARDRAIL_BLOCKED" -> GuardrailBlocked(info)
            "BUDGET_EXCEEDED" -> BudgetExceeded(info)
            "ALL_DEPLOYMENTS_FAILED" -> AllDeploymentsFailed(info)
            "CANCELLED" -> Cancelled(info)
            "NETWORK" -> Network(info)
            "CONFIG" -> Config(info)
            else -> Internal(info) // INTERNAL, or a code from a newer core
        }

        /** The exception for an error's JSON form. */
        internal fun fromJson(json: JsonObject): ModelplugException {
            fun str(key: String) = (json[key] as? JsonPrimitive)?.takeIf { it.isString }?.content
            val retryMs = json["retry_after_ms"]?.jsonPrimitive?.doubleOrNull
            val attempts = json["attempts"]?.let { Codec.lenient.decodeFromJsonElement(ListSerializer(Attempt.serializer()), it) } ?: emptyList()
            return of(
                ErrorInfo(
                    code = str("code") ?: "INTERNAL",
                    message = str("message") ?: "",
                    provider = str("provider"),
                    status = json["status"]?.jsonPrimitive?.intOrNull,
                    retryAfter = retryMs?.milliseconds,
                    requestId = str("request_id"),
                    providerCode = str("provider_code"),
                    retryable = json["retryable"]?.jsonPrimitive?.booleanOrNull ?: false,
                    attempts = attempts,
                    raw = str("raw"),
                    json = json,
                ),
            )
        }

        /** The exception for an error's JSON text. */
        internal fun fromJson(text: String): ModelplugException = fromJson(Codec.lenient.parseToJsonElement(text) as JsonObject)
    }
}
