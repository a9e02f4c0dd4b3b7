package dev.modelplug

import kotlinx.coroutines.delay
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.boolean
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long

/**
 * The vectors' `custom_guardrails` built as Kotlin [Guardrail]s (tests/vectors/README.md; the
 * Rust runner's core/tests/common/host_checks.rs is the reference): `async: true` as a
 * `suspend` check that `delay`s, else a [Guardrail.blocking] one that `Thread.sleep`s.
 */
object HostGuardrails {
    /** The case's custom guardrails, in order. */
    fun of(case: JsonObject): List<Guardrail> = case["custom_guardrails"]?.jsonArray.orEmpty().map { it.jsonObject }.map { spec ->
        val behaviour = spec["behaviour"]!!.jsonObject
        val sleepMs = behaviour["sleep_ms"]?.jsonPrimitive?.long
        val name = spec["name"]!!.jsonPrimitive.content
        val stage = spec["stage"]!!.jsonPrimitive.content
        val timeoutMs = spec["timeout_ms"]?.jsonPrimitive?.long ?: 1000
        val fail = spec["fail"]?.jsonPrimitive?.content ?: "closed"
        if (spec["async"]?.jsonPrimitive?.boolean == true) {
            Guardrail(name, stage, timeoutMs, fail) { input ->
                sleepMs?.let { delay(it) }
                decide(behaviour, input)
            }
        } else {
            Guardrail.blocking(name, stage, timeoutMs, fail) { input ->
                sleepMs?.let { Thread.sleep(it) }
                decide(behaviour, input)
            }
        }
    }

    /** What [behaviour] answers to [input] (or throws). */
    private fun decide(behaviour: JsonObject, input: GuardrailInput): Verdict? {
        fun arg(key: String) = behaviour[key]?.jsonPrimitive?.content
        fun any(needle: String) = input.texts.any { needle in it }
        arg("raise")?.let { error(it) }
        arg("block_if_contains")?.let { return if (any(it)) Verdict.Block else Verdict.Pass }
        arg("warn_if_contains")?.let { return if (any(it)) Verdict.Warn else null }
        behaviour["redact"]?.jsonObject?.let { r ->
            val from = r["from"]!!.jsonPrimitive.content
            val to = r["to"]!!.jsonPrimitive.content
            return if (any(from)) Verdict.Redact(input.texts.map { it.replace(from, to) }) else null
        }
        if ("warn" in behaviour) return Verdict.Warn
        return null
    }
}
