//! The load's measurements as result.json's sections: throughput, latencies and their
//! percentile curves, the generator's health and each consumer group.

use streamproof_result::{
    ConsumerGroupInfo, Generator, Latencies, LatencyDistributions, Throughput,
};

use crate::stats::{percentile_curve, summarize};
use crate::{GroupPlan, LoadOutcome};

impl LoadOutcome {
    /// Rates over the measured part (warmup excluded).
    pub fn throughput(&self) -> Throughput {
        let measured_seconds = self.measured_duration.as_secs_f64();
        Throughput {
            target_eps: self.target_eps,
            sent_eps: self.measured_sent as f64 / measured_seconds,
            achieved_eps: self.measured_acked as f64 / measured_seconds,
            bytes_per_s: self.measured_bytes as f64 / measured_seconds,
            measured_seconds,
        }
    }

    /// Produce latency (corrected and not), and end-to-end latency when consumers ran.
    pub fn latencies(&self, with_consumers: bool) -> Latencies {
        Latencies {
            produce: summarize(&self.produce),
            produce_uncorrected: summarize(&self.service),
            end_to_end: with_consumers.then(|| summarize(&self.end_to_end)),
        }
    }

    /// The percentile curves of the same latencies.
    pub fn latency_distribution(&self) -> LatencyDistributions {
        LatencyDistributions {
            produce: percentile_curve(&self.produce),
            produce_uncorrected: percentile_curve(&self.service),
            end_to_end: percentile_curve(&self.end_to_end),
        }
    }

    /// Whether the generator offered the intended load, and what it cost.
    pub fn generator_section(&self) -> Generator {
        let health = &self.generator;
        Generator {
            cpu_percent: health.cpu_percent,
            cores: health.cores,
            schedule_slip_p99_us: health.schedule_slip.p99_us,
            schedule_slip_max_us: health.schedule_slip.max_us,
            queue_full_waits: health.queue_full_waits,
            kept_up: health.kept_up,
            note: health.note.clone(),
        }
    }
}

impl GroupPlan {
    /// The group as the result describes it, with what it consumed in `outcome`.
    pub fn info(&self, outcome: &LoadOutcome) -> ConsumerGroupInfo {
        ConsumerGroupInfo {
            group: self.group_id.clone(),
            instances: self.instances,
            profile: self.settings.profile.clone(),
            properties: self.settings.redacted(),
            consumed: outcome
                .groups
                .iter()
                .find(|g| g.group == self.group_id)
                .map_or(0, |g| g.consumed),
        }
    }
}
