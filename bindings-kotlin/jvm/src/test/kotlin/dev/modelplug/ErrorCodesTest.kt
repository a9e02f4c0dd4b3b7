package dev.modelplug

import dev.modelplug.ffi.ffiErrorCodes
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The error-class table ([ModelplugException.of]) against the core's list of codes. */
class ErrorCodesTest {
    private fun error(code: String) = ModelplugException.fromJson(
        JsonObject(mapOf("code" to JsonPrimitive(code), "message" to JsonPrimitive("it failed"))),
    )

    @Test
    fun `every code the core knows has its own subclass`() {
        val codes = ffiErrorCodes()
        assertTrue("INTERNAL" in codes && "CANCELLED" in codes, "$codes")
        val classes = codes.associateWith { code ->
            val e = error(code)
            assertEquals(code, e.code)
            assertEquals(code, e.toJson()["code"]!!.let { (it as JsonPrimitive).content })
            e::class
        }
        for ((code, cls) in classes) {
            if (code != "INTERNAL") assertNotEquals(ModelplugException.Internal::class, cls, "$code falls through to Internal")
        }
        assertEquals(codes.size, classes.values.toSet().size, "two codes share a class: $classes")
    }

    @Test
    fun `a code from a newer core keeps its code string`() {
        val e = error("QUOTA_FROZEN")
        assertTrue(e is ModelplugException.Internal)
        assertEquals("QUOTA_FROZEN", e.code)
        assertEquals("[QUOTA_FROZEN] it failed", e.toString())
    }
}
