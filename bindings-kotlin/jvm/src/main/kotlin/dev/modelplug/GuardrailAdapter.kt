package dev.modelplug

import dev.modelplug.ffi.FfiGuardrail
import dev.modelplug.ffi.FfiGuardrailCheck
import dev.modelplug.ffi.FfiGuardrailException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put

/**
 * Runs a [Guardrail] for the core (the foreign trait `FfiGuardrailCheck`, bindings-kotlin/src/
 * guardrails.rs): the check input's JSON in, the verdict's JSON out, a throw as its class name.
 *
 * uniffi calls [check] from a core thread only to launch it as a coroutine (on
 * `Dispatchers.Default`) and returns at once; the core awaits the coroutine's result, and
 * cancels the coroutine when it gives up on the check (timeout, cancelled call).
 */
internal class GuardrailAdapter(private val guardrail: Guardrail) : FfiGuardrailCheck {
    override suspend fun check(inputJson: String): String {
        val input = Codec.lenient.decodeFromString(GuardrailInput.serializer(), inputJson)
        val verdict = try {
            guardrail.check(input)
        } catch (e: Throwable) {
            if (e is VirtualMachineError) throw e
            // Cancelled by the core: end the coroutine. A CancellationException of the check's
            // own (a `withTimeout` inside it) is a throw like any other.
            if (e is CancellationException) currentCoroutineContext().ensureActive()
            throw FfiGuardrailException.Raised(e.javaClass.simpleName.ifEmpty { e.javaClass.name })
        }
        return verdictJson(verdict ?: Verdict.Pass)
    }

    override fun toString() = "GuardrailAdapter($guardrail)"

    companion object {
        /** The verdict in the core's form: `{"action": ...}`, with `texts` for a redaction. */
        fun verdictJson(verdict: Verdict): String = buildJsonObject {
            when (verdict) {
                Verdict.Pass -> put("action", "pass")
                Verdict.Block -> put("action", "block")
                Verdict.Warn -> put("action", "warn")
                is Verdict.Redact -> {
                    put("action", "redact")
                    put("texts", JsonArray(verdict.texts.map(::JsonPrimitive)))
                }
            }
        }.toString()

        /** The native description of [guardrail] (the core validates it when the client is built). */
        fun native(guardrail: Guardrail) = FfiGuardrail(
            name = guardrail.name,
            stage = guardrail.stage,
            // 0 for a negative timeout: the core's CONFIG error says it must be at least 1.
            timeoutMs = guardrail.timeoutMs.coerceAtLeast(0).toULong(),
            fail = guardrail.fail,
            check = GuardrailAdapter(guardrail),
        )
    }
}
