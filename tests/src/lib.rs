//! End-to-end tests live in `tests/`; this library is empty on purpose: the tests drive
//! the real `tracehound` binary as a separate process.
