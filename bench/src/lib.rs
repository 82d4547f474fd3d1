//! The benchmark harness behind `make bench`: a load generator of realistic LLM traces, the
//! real `tracehound` server driven over loopback, and the measurements BENCHMARKS.md reports.

pub mod ceiling;
pub mod corpus;
pub mod cpu;
pub mod load;
pub mod probe;
pub mod report;
pub mod server;
pub mod stats;
pub mod synthetic;
pub mod traces;
