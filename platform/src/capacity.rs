//! Capacity formulas for sizing topics: partitions, replication and retention storage.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Partitions a topic needs: `max(ceil(target / per_partition), consumers)`, so it both carries
/// the target throughput and gives every consumer of a group a partition. Both throughputs use
/// the same unit (events/s or MB/s).
pub fn partitions(
    target_throughput: f64,
    partition_throughput: f64,
    consumers: u32,
) -> Result<u32, CapacityError> {
    if !(partition_throughput.is_finite() && partition_throughput > 0.0) {
        return Err(CapacityError::NotPositive("partition throughput"));
    }
    if !(target_throughput.is_finite() && target_throughput >= 0.0) {
        return Err(CapacityError::NotPositive("target throughput"));
    }
    let for_throughput = (target_throughput / partition_throughput).ceil() as u32;
    Ok(for_throughput.max(consumers).max(1))
}

/// Replication factor on a cluster of `brokers`: `min(brokers, 3)`.
pub fn replication(brokers: u32) -> u32 {
    brokers.clamp(1, 3)
}

/// A byte count, shown in decimal units (1 KB = 1000 bytes) as storage is sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
        let mut value = self.0 as f64;
        let mut unit = 0;
        while value >= 1000.0 && unit + 1 < UNITS.len() {
            value /= 1000.0;
            unit += 1;
        }
        if unit == 0 || value.fract() == 0.0 {
            write!(f, "{value} {}", UNITS[unit])
        } else {
            write!(f, "{value:.2} {}", UNITS[unit])
        }
    }
}

/// Storage a topic needs to keep `retention_days` of traffic:
/// `avg message size × messages per day × retention days`, times the replication factor
/// when given (every replica stores a full copy).
pub fn retention_storage(
    avg_message_bytes: u64,
    messages_per_day: u64,
    retention_days: u64,
    replication: Option<u32>,
) -> Bytes {
    let copies = u64::from(replication.unwrap_or(1));
    Bytes(
        avg_message_bytes
            .saturating_mul(messages_per_day)
            .saturating_mul(retention_days)
            .saturating_mul(copies),
    )
}

/// An input a formula cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapacityError {
    /// The named quantity must be a positive, finite number.
    #[error("{0} must be a positive number")]
    NotPositive(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_worked_example() {
        // max(1000/100, 6) = 10
        assert_eq!(partitions(1000.0, 100.0, 6), Ok(10));
    }

    #[test]
    fn replication_worked_example() {
        // min(5, 3) = 3
        assert_eq!(replication(5), 3);
        assert_eq!(replication(1), 1);
    }

    #[test]
    fn retention_worked_example() {
        // 1KB * 1M * 7 = 7GB
        let storage = retention_storage(1_000, 1_000_000, 7, None);
        assert_eq!(storage, Bytes(7_000_000_000));
        assert_eq!(storage.to_string(), "7 GB");
        assert_eq!(
            retention_storage(1_000, 1_000_000, 7, Some(3)).to_string(),
            "21 GB"
        );
    }

    #[test]
    fn partitions_round_up_and_cover_consumers() {
        assert_eq!(partitions(1001.0, 100.0, 1), Ok(11));
        assert_eq!(partitions(10.0, 100.0, 12), Ok(12));
        assert_eq!(partitions(0.0, 100.0, 0), Ok(1));
        assert!(partitions(10.0, 0.0, 1).is_err());
    }

    #[test]
    fn bytes_display_in_decimal_units() {
        assert_eq!(Bytes(999).to_string(), "999 B");
        assert_eq!(Bytes(1_500_000).to_string(), "1.50 MB");
    }
}
