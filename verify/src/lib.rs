//! The checker (not built yet).
//!
//! It will read what the platform wrote (raw topics with read_committed, bronze, silver and
//! gold Iceberg tables, the DLQ) and compare it with the load generator's ledger: lost acks,
//! phantoms, offset consistency, exactly-once per layer, deduplication, per-key order, gold
//! aggregates and lag, each with exact counts and example ids.
//!
//! It must not generate load or format output: it returns typed findings.
