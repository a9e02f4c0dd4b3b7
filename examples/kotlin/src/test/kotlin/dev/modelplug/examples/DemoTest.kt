package dev.modelplug.examples

import dev.modelplug.Client
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The demo scenarios give what the recordings and the config say (run under tests/with-mock-upstream.sh). */
class DemoTest {
    @Test
    fun `the demo scenarios`() = runBlocking {
        val text = Client.fromConfigFile(CONFIG.path).use { run(it) }.joinToString("\n")
        for (expected in listOf(
            "chat     \"The capital of France is Paris.\" from azure-backup (21 tokens",
            "openai-primary PROVIDER_UNAVAILABLE → openai-primary PROVIDER_UNAVAILABLE → azure-backup ok",
            "stream   \"The capital of the UK is London.\" in 8 pieces from groq (87 tokens)",
            "tools    the model calls get_user_country({}) [call_iXFttys57ap0o16JSlC8yhYo]",
            "embed    1 vector of 128 dimensions (4 tokens)",
            "mock     \"no network needed\" from the mock provider",
            "cost     \$0.000448 for 5 calls (4 priced by the config's price table)",
        )) {
            assertTrue(expected in text, "missing <$expected> in\n$text")
        }
    }
}
