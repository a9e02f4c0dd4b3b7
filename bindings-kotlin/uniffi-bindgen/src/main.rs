//! `uniffi-bindgen generate --library <libmodelplug_kotlin.so> --language kotlin --out-dir <dir>`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
