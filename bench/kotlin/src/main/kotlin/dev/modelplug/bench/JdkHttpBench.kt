package dev.modelplug.bench

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.future.await
import kotlinx.coroutines.withContext

/** java.net.http doing the raw POST and JSON parse: `sendAsync`, HTTP/1.1 (the upstream's protocol). */
class JdkHttpBench : BenchClient {
    private val http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
    private val chatRequest = post("${Workload.chatBase}/chat/completions", Workload.body(stream = false))
    private val streamRequest = post("${Workload.streamBase}/chat/completions", Workload.body(stream = true))

    override val version: String = "jdk-" + System.getProperty("java.version")

    private fun post(url: String, body: String) = HttpRequest.newBuilder(URI.create(url))
        .header("content-type", "application/json")
        .header("authorization", "Bearer ${Workload.API_KEY}")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build()

    override suspend fun chat(): Answer {
        val response = http.sendAsync(chatRequest, HttpResponse.BodyHandlers.ofString()).await()
        if (response.statusCode() != 200) error("status ${response.statusCode()}")
        return parseCompletion(response.body())
    }

    override suspend fun stream(onChunk: (String?, Int?) -> Unit) {
        val response = http.sendAsync(streamRequest, HttpResponse.BodyHandlers.ofLines()).await()
        if (response.statusCode() != 200) error("status ${response.statusCode()}")
        withContext(Dispatchers.IO) {
            response.body().use { lines ->
                val iterator = lines.iterator()
                while (iterator.hasNext()) {
                    if (!parseStreamLine(iterator.next(), onChunk)) break
                }
            }
        }
    }
}
