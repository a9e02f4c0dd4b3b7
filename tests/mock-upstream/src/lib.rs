//! mock upstream
