package dev.modelplug

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runInterruptible
import kotlinx.serialization.Serializable

/**
 * A custom guardrail: a check written in Kotlin that the client runs on the texts of [stage] of
 * every call, after the config's `guardrails:` rules, like one of them.
 *
 * ```kotlin
 * val codenames = Guardrail("codenames", stage = "both") { input ->
 *     if (input.texts.any { "falcon" in it }) Verdict.Redact(input.texts.map { it.replace("falcon", "[PROJECT]") })
 *     else Verdict.Pass
 * }
 * val audit = Guardrail.blocking("audit", fail = "open") { input -> if (auditLog.flagged(input.texts)) Verdict.Warn else null }
 * Client.fromConfigFile("modelplug.yaml", guardrails = listOf(codenames, audit)).use { client -> ... }
 * ```
 *
 * [check] is a `suspend` function run in a coroutine of its own on [Dispatchers.Default],
 * never on the caller's thread or one of the core's threads; the call waits for it without
 * holding a thread. Blocking work inside it belongs in `runInterruptible(Dispatchers.IO) { }`,
 * which is what [blocking] does for a whole check.
 *
 * When the check throws, or takes longer than [timeoutMs], [fail] decides: `closed` (the
 * default) fails the call with [ModelplugException.GuardrailBlocked], `open` lets it go on and
 * records `error` as the guardrail's outcome. Only the exception's class name reaches the core,
 * never its message (it may quote the checked text). On a timeout the check's coroutine is
 * cancelled. The outcome of every guardrail is on the response ([ChatResponse.guardrails]) and
 * the usage event.
 *
 * A bad [stage], [fail] or [timeoutMs] is the client factory's [ModelplugException.Config].
 * Implement the interface, or use the factories [invoke] and [blocking].
 */
interface Guardrail {
    /** Its name, as the outcomes and [ModelplugException.GuardrailBlocked] give it. */
    val name: String

    /** Which texts it checks: `input` (the request's; the default), `output` (the answer's) or `both`. */
    val stage: String get() = "input"

    /** How long one check may take, in milliseconds (default 1000, at least 1); then [fail] decides. */
    val timeoutMs: Long get() = 1000

    /** What a throw or a timeout means: `closed` (the default; the call is blocked) or `open` (the call goes on). */
    val fail: String get() = "closed"

    /**
     * Checks [input]: [Verdict.Pass] (or `null`), [Verdict.Block], [Verdict.Warn] or
     * [Verdict.Redact] with one replacement per input text.
     */
    suspend fun check(input: GuardrailInput): Verdict?

    companion object {
        /** A guardrail whose check is a `suspend` function: `Guardrail("name") { input -> ... }`. */
        operator fun invoke(
            name: String,
            stage: String = "input",
            timeoutMs: Long = 1000,
            fail: String = "closed",
            check: suspend (GuardrailInput) -> Verdict?,
        ): Guardrail = LambdaGuardrail(name, stage, timeoutMs, fail, check)

        /**
         * A guardrail whose check is a plain function that may block (I/O, a lock, a synchronous
         * client). It runs on [Dispatchers.IO] and is interrupted when it times out or the call
         * is cancelled (`Thread.sleep`, interruptible I/O and `lockInterruptibly` then end early).
         */
        fun blocking(
            name: String,
            stage: String = "input",
            timeoutMs: Long = 1000,
            fail: String = "closed",
            check: (GuardrailInput) -> Verdict?,
        ): Guardrail = LambdaGuardrail(name, stage, timeoutMs, fail) { input -> runInterruptible(Dispatchers.IO) { check(input) } }
    }
}

/** A [Guardrail] made by [Guardrail.invoke] or [Guardrail.blocking]. */
private class LambdaGuardrail(
    override val name: String,
    override val stage: String,
    override val timeoutMs: Long,
    override val fail: String,
    private val run: suspend (GuardrailInput) -> Verdict?,
) : Guardrail {
    override suspend fun check(input: GuardrailInput): Verdict? = run(input)

    override fun toString() = "Guardrail(name=$name, stage=$stage, timeoutMs=$timeoutMs, fail=$fail)"
}

/**
 * What a check is asked about: the guardrail's [name], the [stage] being checked (`input` or
 * `output`), the [texts] of that stage and the [model] alias the call asked for.
 *
 * For `input`, [texts] holds each message's text (system, user, assistant, tool results) and
 * the tool calls' arguments, in order; for `output`, the answer's texts. `toString()` shows
 * how many texts there are, not what they say.
 */
@Serializable
data class GuardrailInput(
    /** The guardrail's name. */
    val name: String,
    /** `input` or `output`. */
    val stage: String,
    /** The texts to check, in order. */
    val texts: List<String>,
    /** The model alias the call asked for. */
    val model: String,
) {
    override fun toString() = "GuardrailInput(name=$name, stage=$stage, texts=<${texts.size} texts>, model=$model)"
}

/** A check's answer. */
sealed class Verdict {
    /** Nothing to object to (the same as answering `null`). */
    data object Pass : Verdict()

    /** Stop the call: it fails with [ModelplugException.GuardrailBlocked] naming the guardrail (never the text). */
    data object Block : Verdict()

    /** Let the call go on; the outcome (on the response and the usage event) records a warning. */
    data object Warn : Verdict()

    /**
     * Go on with [texts] instead: one replacement per input text, in the same order (another
     * count counts as a failed check, which [Guardrail.fail] decides about). `toString()` shows
     * how many texts there are, not what they say.
     */
    data class Redact(val texts: List<String>) : Verdict() {
        override fun toString() = "Redact(<${texts.size} texts>)"
    }
}
