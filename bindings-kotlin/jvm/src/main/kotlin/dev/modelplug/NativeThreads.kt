package dev.modelplug

import com.sun.jna.CallbackThreadInitializer
import com.sun.jna.Native
import dev.modelplug.ffi.uniffiCallbackInterfaceFfiGuardrailCheck
import dev.modelplug.ffi.uniffiCallbackInterfaceFfiUsageListener
import dev.modelplug.ffi.uniffiForeignFutureDroppedCallbackImpl
import dev.modelplug.ffi.uniffiRustFutureContinuationCallbackImpl

/**
 * Keeps the core's threads attached to the JVM between calls.
 *
 * Every finished native call wakes its coroutine through one JNA callback, on a thread of the
 * core's runtime. By default JNA attaches that thread to the JVM for the callback and detaches
 * it afterwards, allocating a `java.lang.Thread` each time: ~80 us of latency and a sixth of
 * the CPU per request in `make bench-kotlin`. Attached once, as daemons named `modelplug-core`,
 * the few runtime threads stay attached until they exit. The same holds for the threads that
 * hand usage events to `onUsage` (named `modelplug-usage`), and for the two callbacks a custom
 * guardrail's check makes from the runtime's threads (starting the check's coroutine, and
 * cancelling it when the core drops the check). JNA reads the setting when the callback is
 * first handed to native code, so [install] runs before any client exists.
 */
internal object NativeThreads {
    init {
        Native.setCallbackThreadInitializer(
            uniffiRustFutureContinuationCallbackImpl,
            CallbackThreadInitializer(/* daemon = */ true, /* detach = */ false, "modelplug-core"),
        )
        Native.setCallbackThreadInitializer(
            uniffiCallbackInterfaceFfiUsageListener.`onUsage`,
            CallbackThreadInitializer(/* daemon = */ true, /* detach = */ false, "modelplug-usage"),
        )
        for (onCoreThread in listOf(uniffiCallbackInterfaceFfiGuardrailCheck.`check`, uniffiForeignFutureDroppedCallbackImpl)) {
            Native.setCallbackThreadInitializer(
                onCoreThread,
                CallbackThreadInitializer(/* daemon = */ true, /* detach = */ false, "modelplug-core"),
            )
        }
    }

    /** Runs the initializer above once (a no-op afterwards). */
    fun install() = Unit
}
