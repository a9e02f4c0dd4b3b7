#!/usr/bin/env bash
# Cross-builds libmodelplug_kotlin.so for Android (arm64-v8a, x86_64) with cargo-ndk and
# generates the Android flavour of the Kotlin bindings. Needs an Android NDK (ANDROID_NDK_HOME);
# it cannot run on the project's build machines (no NDK there), so it is documented and kept
# simple rather than tested. See bindings-kotlin/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to an Android NDK (r26 or newer)}"
cd "$repo"

command -v cargo-ndk >/dev/null || cargo install cargo-ndk --locked
rustup target add aarch64-linux-android x86_64-linux-android

# 1. The native library for each ABI, into the module's jniLibs (API 24 = Android 7.0).
cargo ndk --platform 24 -t arm64-v8a -t x86_64 -o "$here/src/main/jniLibs" build -p modelplug-kotlin --release

# 2. The Android flavour of the generated Kotlin (android = true: Android's cleaner, API checks).
host_lib="$repo/target/x86_64-unknown-linux-gnu/release/libmodelplug_kotlin.so"
cargo build -p modelplug-kotlin --release --target x86_64-unknown-linux-gnu
cargo build -p uniffi-bindgen --release --target x86_64-unknown-linux-gnu
rm -rf "$here/generated"
"$repo/target/x86_64-unknown-linux-gnu/release/uniffi-bindgen" generate --no-format --library "$host_lib" \
    --language kotlin --config "$repo/bindings-kotlin/uniffi-android.toml" --out-dir "$here/generated"
python3 "$repo/bindings-kotlin/reuse-call-status.py" "$here/generated/dev/modelplug/ffi/modelplug_kotlin.kt"
echo "Android sources in $here/generated, native libraries in $here/src/main/jniLibs"
