#!/usr/bin/env python3
"""Makes uniffi's generated Kotlin reuse one call-status structure per thread.

usage: reuse-call-status.py GENERATED.kt [...]

uniffi 0.32's Kotlin allocates a JNA `Structure` (`UniffiRustCallStatus`, with a nested
`RustBuffer`) for every call into Rust. Each costs a malloc, a JNA cleaner registration and a
map entry that the GC must later clear: measured here at ~13 us of CPU, and five such calls
make up one chat completion. That was half of modelplug-kotlin's per-request CPU (`make
bench-kotlin`); a `configHash` call went from 62 us to 8 us with this change.

The patch swaps the one allocation in `uniffiRustCallWithError` for a per-thread status that is
reused while it is clean. A status that reported an error or a panic is never reused (its
`error_buf` is being lifted and freed, possibly by a nested call on the same thread); the
thread gets a fresh one. Rust writes the status only to report a failure, so a clean status
stays clean across calls.

The script fails loudly when the generated code no longer has the expected shape (a uniffi
upgrade): check then whether upstream still allocates per call before adapting it.
"""
import sys

ALLOCATION = "    var status = UniffiRustCallStatus()\n    val return_value = callback(status)\n"
REUSE = "    var status = uniffiCallStatus()\n    val return_value = callback(status)\n"
HELPER = '''
// Added by bindings-kotlin/reuse-call-status.py: one clean call status per thread.
private val uniffiCallStatuses = ThreadLocal<UniffiRustCallStatus>()

private fun uniffiCallStatus(): UniffiRustCallStatus {
    val held = uniffiCallStatuses.get()
    if (held != null && held.code == UNIFFI_CALL_SUCCESS) return held
    return UniffiRustCallStatus().also { uniffiCallStatuses.set(it) }
}
'''


def patch(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if HELPER in text:
        return
    found = text.count(ALLOCATION)
    if found != 1:
        sys.exit(f"{path}: expected one per-call status allocation in uniffiRustCallWithError, found {found}; "
                 "the generated code changed (uniffi upgrade?) - see bindings-kotlin/reuse-call-status.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(ALLOCATION, REUSE) + HELPER)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for generated in sys.argv[1:]:
        patch(generated)
