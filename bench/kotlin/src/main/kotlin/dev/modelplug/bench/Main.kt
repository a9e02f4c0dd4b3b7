package dev.modelplug.bench

import java.util.concurrent.atomic.AtomicInteger
import kotlin.system.exitProcess
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put

/**
 * The Kotlin benchmark harness: `java -cp … dev.modelplug.bench.MainKt CLIENT MODE [--n N]
 * [--conc C] [--warmup W] [--rep R]`. One client and one mode per process; prints one JSON line
 * in the shared yardstick's format (lang `jvm`), which ../shared/bench/summarize.py reads.
 *
 * Modes: `import` (time to load and build the client), `seq` (one call at a time), `conc`
 * (C coroutines sharing N calls), `stream` (N streamed completions one after another). Every
 * mode warms the JIT with W calls first; CPU and latency count only the measured calls.
 */
fun main(args: Array<String>) {
    val options = Options.parse(args) ?: run {
        System.err.println("usage: MainKt {${clients.keys.joinToString("|")}} {import|seq|conc|stream} [--n N] [--conc C] [--warmup W] [--rep R]")
        exitProcess(2)
    }
    val fields = runBlocking(Dispatchers.Default) { measure(options) }
    println(buildJsonObject {
        put("lang", "jvm")
        put("client", options.client)
        put("mode", options.mode)
        put("rep", options.rep)
        put("java", System.getProperty("java.version"))
        for ((key, value) in fields) put(key, value.toJson())
    })
    exitProcess(0) // OkHttp's and the JDK client's idle threads would otherwise hold the JVM a while
}

/** The command line. */
data class Options(val client: String, val mode: String, val n: Int, val conc: Int, val warmup: Int, val rep: Int) {
    companion object {
        private val defaultN = mapOf("import" to 1, "seq" to 5000, "conc" to 20000, "stream" to 1000)

        fun parse(args: Array<String>): Options? {
            if (args.size < 2 || args[0] !in clients || args[1] !in defaultN) return null
            val flags = args.drop(2).chunked(2).associate { it[0] to it.getOrNull(1)?.toIntOrNull() }
            if (flags.any { (k, v) -> k !in setOf("--n", "--conc", "--warmup", "--rep") || v == null }) return null
            return Options(
                args[0], args[1],
                n = flags["--n"] ?: defaultN.getValue(args[1]),
                conc = flags["--conc"] ?: 64,
                warmup = flags["--warmup"] ?: 3000,
                rep = flags["--rep"] ?: 1,
            )
        }
    }
}

private suspend fun measure(o: Options): Map<String, Any?> {
    val t0 = nowNs()
    val client = clients.getValue(o.client)()
    val setupMs = round1((nowNs() - t0) / 1e6)
    client.use {
        val fields = linkedMapOf<String, Any?>("n" to o.n)
        if (o.mode == "import") {
            fields["import_ms"] = setupMs
        } else {
            val first = nowNs()
            if (o.mode == "stream") consumeStream(client) else client.chat().also { Workload.check(it.text, it.totalTokens) }
            fields["first_call_ms"] = round1((nowNs() - first) / 1e6)
            when (o.mode) {
                "seq" -> fields += sequential(client, o)
                "conc" -> fields += concurrent(client, o)
                "stream" -> fields += streams(client, o)
            }
        }
        fields["rss_mb"] = peakRssMb()
        fields["version"] = client.version
        return fields
    }
}

private suspend fun checkedChat(client: BenchClient) {
    val answer = client.chat()
    Workload.check(answer.text, answer.totalTokens)
}

private suspend fun sequential(client: BenchClient, o: Options): Map<String, Any?> {
    repeat(o.warmup) { checkedChat(client) }
    val samples = LongArray(o.n)
    val cpu0 = cpuSeconds()
    val wall0 = nowNs()
    for (i in 0 until o.n) {
        val t = nowNs()
        checkedChat(client)
        samples[i] = nowNs() - t
    }
    return latencyStats("", samples) + throughput(o.n, wall0, cpu0, "cpu_us_per_req")
}

private suspend fun concurrent(client: BenchClient, o: Options): Map<String, Any?> {
    suspend fun wave(total: Int, samples: LongArray?) = coroutineScope {
        val next = AtomicInteger()
        repeat(o.conc) {
            launch {
                while (true) {
                    val i = next.getAndIncrement()
                    if (i >= total) break
                    val t = nowNs()
                    checkedChat(client)
                    samples?.set(i, nowNs() - t)
                }
            }
        }
    }
    wave(o.warmup, null)
    val samples = LongArray(o.n)
    val cpu0 = cpuSeconds()
    val wall0 = nowNs()
    wave(o.n, samples)
    return mapOf("conc" to o.conc) + throughput(o.n, wall0, cpu0, "cpu_us_per_req") + latencyStats("lat_", samples)
}

/** One streamed completion, checked; returns (time to first chunk, total) in ns. */
private suspend fun consumeStream(client: BenchClient): Pair<Long, Long> {
    val t0 = nowNs()
    var ttfc = -1L
    val text = StringBuilder()
    var tokens: Int? = null
    client.stream { piece, total ->
        if (ttfc < 0) ttfc = nowNs() - t0
        if (piece != null) text.append(piece)
        if (total != null) tokens = total
    }
    val elapsed = nowNs() - t0
    Workload.check(text.toString(), tokens)
    return ttfc to elapsed
}

private suspend fun streams(client: BenchClient, o: Options): Map<String, Any?> {
    repeat(o.warmup / 10) { consumeStream(client) }
    val ttfc = LongArray(o.n)
    val total = LongArray(o.n)
    val cpu0 = cpuSeconds()
    val wall0 = nowNs()
    for (i in 0 until o.n) {
        val (first, all) = consumeStream(client)
        ttfc[i] = first
        total[i] = all
    }
    return latencyStats("ttfc_", ttfc) + latencyStats("total_", total) + throughput(o.n, wall0, cpu0, "cpu_us_per_stream")
}

private fun throughput(n: Int, wall0: Long, cpu0: Double, cpuKey: String): Map<String, Any?> {
    val wall = (nowNs() - wall0) / 1e9
    val cpu = cpuSeconds() - cpu0
    return linkedMapOf(
        "wall_s" to round3(wall),
        "cpu_s" to round3(cpu),
        cpuKey to round1(cpu / n * 1e6),
        "rps" to round1(n / wall),
    )
}

private fun Any?.toJson(): JsonElement = when (this) {
    null -> JsonNull
    is Number -> JsonPrimitive(this)
    is Boolean -> JsonPrimitive(this)
    else -> JsonPrimitive(toString())
}
