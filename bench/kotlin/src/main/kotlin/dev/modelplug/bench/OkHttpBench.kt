package dev.modelplug.bench

import java.io.IOException
import java.util.concurrent.TimeUnit
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withContext
import okhttp3.Call
import okhttp3.Callback
import okhttp3.ConnectionPool
import okhttp3.Dispatcher
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import okhttp3.Response

/** OkHttp doing the raw POST and JSON parse: async calls (`enqueue`), pool sized for c=64. */
class OkHttpBench : BenchClient {
    private val http = OkHttpClient.Builder()
        .dispatcher(Dispatcher().apply { maxRequests = 256; maxRequestsPerHost = 256 })
        .connectionPool(ConnectionPool(256, 5, TimeUnit.MINUTES))
        .build()
    private val jsonType = "application/json".toMediaType()
    private val chatBody = Workload.body(stream = false).toRequestBody(jsonType)
    private val streamBody = Workload.body(stream = true).toRequestBody(jsonType)

    override val version = mavenVersion("com.squareup.okhttp3", "okhttp") ?: okhttp3.OkHttp.VERSION

    private fun post(url: String, body: okhttp3.RequestBody) = Request.Builder()
        .url(url)
        .header("authorization", "Bearer ${Workload.API_KEY}")
        .post(body)
        .build()

    override suspend fun chat(): Answer {
        val response = http.newCall(post("${Workload.chatBase}/chat/completions", chatBody)).await()
        return response.use {
            if (!it.isSuccessful) error("status ${it.code}")
            parseCompletion(it.body!!.string())
        }
    }

    override suspend fun stream(onChunk: (String?, Int?) -> Unit) {
        val response = http.newCall(post("${Workload.streamBase}/chat/completions", streamBody)).await()
        withContext(Dispatchers.IO) {
            response.use {
                if (!it.isSuccessful) error("status ${it.code}")
                val source = it.body!!.source()
                while (true) {
                    val line = source.readUtf8Line() ?: break
                    if (!parseStreamLine(line, onChunk)) break
                }
            }
        }
    }

    override fun close() {
        http.dispatcher.executorService.shutdown()
        http.connectionPool.evictAll()
    }
}

/** Runs the call on OkHttp's dispatcher; resumes with the response headers read. */
private suspend fun Call.await(): Response = suspendCancellableCoroutine { cont ->
    cont.invokeOnCancellation { cancel() }
    enqueue(object : Callback {
        override fun onResponse(call: Call, response: Response) = cont.resume(response)
        override fun onFailure(call: Call, e: IOException) = cont.resumeWithException(e)
    })
}
