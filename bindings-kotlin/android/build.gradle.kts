// The Android library module: the same idiomatic Kotlin API as the JVM package
// (../jvm/src/main/kotlin), the Android flavour of the generated bindings (generated/, written
// by build-android.sh) and the cross-built native libraries (src/main/jniLibs). Not built on
// the project's machines (no Android SDK there); see ../README.md.
plugins {
    id("com.android.library") version "8.13.0"
    id("org.jetbrains.kotlin.android") version "2.4.10"
    id("org.jetbrains.kotlin.plugin.serialization") version "2.4.10"
}

android {
    namespace = "dev.modelplug"
    compileSdk = 35
    defaultConfig { minSdk = 24 }
    sourceSets["main"].java.srcDirs("../jvm/src/main/kotlin", "generated")
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin { jvmToolchain(17) }

dependencies {
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
    implementation("org.jetbrains.kotlinx:kotlinx-serialization-json:1.12.0")
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    implementation("androidx.annotation:annotation:1.9.1")
    // Optional at run time: the caller's current span when the app has the OpenTelemetry API (Trace.kt).
    compileOnly("io.opentelemetry:opentelemetry-api:1.68.0")
}
