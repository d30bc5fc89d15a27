//! One scenario under several values of a setting, each value against the first.

use super::*;

/// One scenario under several values of a setting, each against the first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    /// The values, the baseline first.
    pub labels: Vec<String>,
    /// Runs per value.
    pub runs: Vec<usize>,
    /// One row per figure.
    pub rows: Vec<MatrixRow>,
    /// Each value after the first against the first.
    pub comparisons: Vec<Comparison>,
    /// [`Change::Regressed`] when any value regressed any figure, and so on as in
    /// [`Comparison::verdict`].
    pub verdict: Change,
}

/// One figure across the values of a matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRow {
    /// Name of the figure.
    pub name: String,
    /// What the values measure.
    pub unit: Unit,
    /// Which direction is better.
    pub better: Better,
    /// The baseline's runs.
    pub baseline: Option<Spread>,
    /// Each other value against the baseline, in the order of [`Matrix::labels`] after the
    /// first; `None` where that value lacks the figure entirely.
    pub others: Vec<Option<MatrixCell>>,
}

/// A value of a matrix against the baseline, for one figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixCell {
    /// The runs of this value.
    pub spread: Option<Spread>,
    /// Against the baseline's median, percent.
    pub change_percent: Option<f64>,
    /// The verdict against the baseline.
    pub change: Change,
}

/// Compares each labelled set of runs with the first one.
pub fn compare_many(labelled: &[(String, Vec<RunResult>)], tolerances: &Tolerances) -> Matrix {
    let Some((_, baseline)) = labelled.first() else {
        return Matrix {
            labels: Vec::new(),
            runs: Vec::new(),
            rows: Vec::new(),
            comparisons: Vec::new(),
            verdict: Change::Unchanged,
        };
    };
    let comparisons: Vec<Comparison> = labelled[1..]
        .iter()
        .map(|(_, runs)| compare(baseline, runs, tolerances))
        .collect();
    // The rows of the baseline alone, for a matrix of one value, come from comparing it with
    // itself; every figure it has is then listed.
    let reference = compare(baseline, baseline, tolerances);
    let mut names: Vec<(String, Unit, Better)> = Vec::new();
    for metric in reference
        .metrics
        .iter()
        .chain(comparisons.iter().flat_map(|c| c.metrics.iter()))
    {
        if !names.iter().any(|(name, ..)| *name == metric.name) {
            names.push((metric.name.clone(), metric.unit, metric.better));
        }
    }
    let rows = names
        .into_iter()
        .map(|(name, unit, better)| {
            let baseline = reference
                .metrics
                .iter()
                .find(|m| m.name == name)
                .and_then(|m| m.baseline);
            let others = comparisons
                .iter()
                .map(|comparison| {
                    comparison
                        .metrics
                        .iter()
                        .find(|m| m.name == name)
                        .map(|m| MatrixCell {
                            spread: m.candidate,
                            change_percent: m.change_percent,
                            change: m.change,
                        })
                })
                .collect();
            MatrixRow {
                name,
                unit,
                better,
                baseline,
                others,
            }
        })
        .collect();
    Matrix {
        labels: labelled.iter().map(|(label, _)| label.clone()).collect(),
        runs: labelled.iter().map(|(_, runs)| runs.len()).collect(),
        verdict: overall(comparisons.iter().map(|c| c.verdict)),
        rows,
        comparisons,
    }
}
