package dev.modelplug.bench

import java.io.File
import java.lang.management.ManagementFactory
import kotlin.math.roundToLong

/** This process's CPU time (every thread: the client's, the JIT's and the GC's), in seconds. */
fun cpuSeconds(): Double =
    (ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean).processCpuTime / 1e9

/** The process's peak resident set, in MiB (VmHWM). */
fun peakRssMb(): Double {
    val kib = File("/proc/self/status").readLines().first { it.startsWith("VmHWM:") }
        .removePrefix("VmHWM:").trim().removeSuffix("kB").trim().toDouble()
    return round1(kib / 1024)
}

/** Nanoseconds now, for intervals. */
fun nowNs(): Long = System.nanoTime()

/** Rounds to one decimal. */
fun round1(value: Double): Double = (value * 10).roundToLong() / 10.0

/** Rounds to three decimals. */
fun round3(value: Double): Double = (value * 1000).roundToLong() / 1000.0

/** Mean, p50, p90, p99 and max of latencies in ns, in µs, keyed `<prefix>mean_us` and so on. */
fun latencyStats(prefix: String, samplesNs: LongArray): Map<String, Double> {
    val sorted = samplesNs.sortedArray()
    fun pct(q: Double) = sorted[(q * (sorted.size - 1)).roundToLong().toInt().coerceIn(0, sorted.size - 1)]
    fun us(ns: Double) = round1(ns / 1000)
    return linkedMapOf(
        "${prefix}mean_us" to us(sorted.average()),
        "${prefix}p50_us" to us(pct(0.5).toDouble()),
        "${prefix}p90_us" to us(pct(0.9).toDouble()),
        "${prefix}p99_us" to us(pct(0.99).toDouble()),
        "${prefix}max_us" to us(sorted.last().toDouble()),
    )
}
