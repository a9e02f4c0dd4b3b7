package dev.modelplug

import kotlin.math.abs
import kotlin.math.max
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.booleanOrNull
import kotlinx.serialization.json.doubleOrNull
import kotlinx.serialization.json.intOrNull

/** The vectors' subset matcher (tests/vectors/README.md); throws [AssertionError] on a mismatch. */
fun matches(expected: JsonElement, actual: JsonElement?, path: String = "result") {
    val actualOrNull = actual ?: JsonNull
    when (expected) {
        is JsonObject -> {
            if (expected.isNotEmpty() && expected.keys.all { it.startsWith("$") }) {
                expected.forEach { (name, arg) -> matcher(name, arg, actualOrNull, path) }
                return
            }
            if (actualOrNull !is JsonObject) throw AssertionError("$path: expected an object, got $actualOrNull")
            for ((k, v) in expected) {
                val a = actualOrNull[k]
                if (a != null) matches(v, a, "$path.$k")
                else if (!(v is JsonObject && "\$absent" in v)) throw AssertionError("$path.$k: missing (expected $v)")
            }
        }
        is JsonArray -> {
            if (actualOrNull !is JsonArray) throw AssertionError("$path: expected a list, got $actualOrNull")
            if (expected.size != actualOrNull.size) throw AssertionError("$path: expected ${expected.size} items, got ${actualOrNull.size}: $actualOrNull")
            expected.zip(actualOrNull).forEachIndexed { i, (x, y) -> matches(x, y, "$path[$i]") }
        }
        is JsonPrimitive -> {
            val a = actualOrNull as? JsonPrimitive
            val x = expected.takeIf { !it.isString }?.doubleOrNull
            val y = a?.takeIf { !it.isString }?.doubleOrNull
            val same = when {
                expected is JsonNull -> actualOrNull is JsonNull
                x != null && y != null -> abs(x - y) <= 1e-6 * max(1.0, max(abs(x), abs(y)))
                else -> a != null && a !is JsonNull && a.isString == expected.isString && a.content == expected.content
            }
            if (!same) throw AssertionError("$path: expected $expected, got $actualOrNull")
        }
    }
}

private fun matcher(name: String, arg: JsonElement, actual: JsonElement, path: String) {
    val text = (actual as? JsonPrimitive)?.takeIf { it.isString }?.content
    val number = (actual as? JsonPrimitive)?.takeIf { !it.isString }?.doubleOrNull
    fun texts(a: JsonElement) = if (a is JsonArray) a.map { (it as JsonPrimitive).content } else listOf((a as JsonPrimitive).content)
    val ok = when (name) {
        "\$prefix" -> text != null && text.startsWith((arg as JsonPrimitive).content)
        "\$contains" -> text != null && texts(arg).all { it in text }
        "\$excludes" -> text != null && texts(arg).none { it in text }
        "\$gte" -> number != null && number >= (arg as JsonPrimitive).doubleOrNull!!
        "\$lte" -> number != null && number <= (arg as JsonPrimitive).doubleOrNull!!
        "\$len" -> {
            val len = when (actual) {
                is JsonArray -> actual.size
                is JsonObject -> actual.size
                else -> text?.length ?: throw AssertionError("$path: \$len of $actual")
            }
            if (arg is JsonObject) {
                matches(arg, JsonPrimitive(len), "$path.length")
                return
            }
            len == (arg as JsonPrimitive).intOrNull
        }
        "\$exists" -> (actual !is JsonNull) == ((arg as JsonPrimitive).booleanOrNull ?: true)
        "\$absent" -> actual is JsonNull
        else -> throw AssertionError("$path: unknown matcher $name")
    }
    if (!ok) throw AssertionError("$path: $name $arg does not hold for $actual")
}
