//! The metrics hook's recorder: counters, gauges and fixed-bucket histograms behind the
//! `metrics` facade, each an atomic, rendered in the Prometheus text exposition format
//! (version 0.0.4).
//!
//! Written here rather than taken from metrics-exporter-prometheus, whose recorder
//! calibrates a TSC clock by spinning when it is made (about a millisecond, and up to
//! 200 ms on a busy machine, at the start of every run) and keeps a timestamped sample per
//! histogram record until it renders. A run needs neither: it renders once, at its end.

use std::cmp::Ordering::{Equal, Less};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata,
    SharedString, Unit,
};

/// The recorded metrics, by name.
pub(crate) struct Prometheus {
    /// The histograms' upper bounds, ascending; `+Inf` is implied.
    bounds: Arc<[f64]>,
    families: Mutex<BTreeMap<String, Family>>,
}

/// The series of one metric name, all of one kind.
struct Family {
    kind: &'static str,
    series: Vec<(Labels, Series)>,
}

type Labels = Vec<(String, String)>;

#[derive(Clone)]
enum Series {
    Counter(Arc<CounterCell>),
    Gauge(Arc<GaugeCell>),
    Histogram(Arc<HistogramCell>),
}

struct CounterCell(AtomicU64);

impl CounterFn for CounterCell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }

    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

/// A float kept as its bits.
struct GaugeCell(AtomicU64);

impl GaugeCell {
    fn add(&self, delta: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + delta).to_bits())
            });
    }

    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.add(value);
    }

    fn decrement(&self, value: f64) {
        self.add(-value);
    }

    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

struct HistogramCell {
    bounds: Arc<[f64]>,
    /// Observations per bucket (not cumulative); the last counts those above every bound.
    buckets: Box<[AtomicU64]>,
    sum: GaugeCell,
    count: AtomicU64,
}

impl HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        self.record_many(value, 1);
    }

    fn record_many(&self, value: f64, count: usize) {
        let count = count as u64;
        // The first bound at or above the value; NaN is above every bound (`+Inf` only).
        let bucket = self
            .bounds
            .partition_point(|bound| !matches!(value.partial_cmp(bound), Some(Less | Equal)));
        if let Some(slot) = self.buckets.get(bucket) {
            slot.fetch_add(count, Ordering::Relaxed);
        }
        self.sum.add(value * count as f64);
        self.count.fetch_add(count, Ordering::Relaxed);
    }
}

impl Prometheus {
    /// A recorder whose histograms have these upper bounds (sorted here).
    pub(crate) fn new(bounds: &[f64]) -> Self {
        let mut bounds: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        Self {
            bounds: bounds.into(),
            families: Mutex::new(BTreeMap::new()),
        }
    }

    /// The series of `key`, made on first use. A name registered before as another kind
    /// gets a series that is counted but never shown, rather than a corrupt family.
    fn series(&self, key: &Key, kind: &'static str, make: impl FnOnce() -> Series) -> Series {
        let same_labels = |labels: &Labels| {
            labels.len() == key.labels().len()
                && labels
                    .iter()
                    .zip(key.labels())
                    .all(|((k, v), label)| k == label.key() && v == label.value())
        };
        let mut families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(family) = families.get_mut(key.name()) {
            if family.kind != kind {
                return make();
            }
            if let Some((_, series)) = family.series.iter().find(|(l, _)| same_labels(l)) {
                return series.clone();
            }
        }
        let made = make();
        let labels: Labels = key
            .labels()
            .map(|label| (label.key().to_owned(), label.value().to_owned()))
            .collect();
        families
            .entry(key.name().to_owned())
            .or_insert_with(|| Family {
                kind,
                series: Vec::new(),
            })
            .series
            .push((labels, made.clone()));
        made
    }

    /// The text exposition: families in name order, series in label order.
    pub(crate) fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for (name, family) in families.iter() {
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "# TYPE {name} {}", family.kind);
            let mut series: Vec<&(Labels, Series)> = family.series.iter().collect();
            series.sort_by(|a, b| a.0.cmp(&b.0));
            for (labels, series) in series {
                match series {
                    Series::Counter(cell) => line(
                        &mut out,
                        name,
                        "",
                        labels,
                        None,
                        &cell.0.load(Ordering::Relaxed),
                    ),
                    Series::Gauge(cell) => {
                        line(&mut out, name, "", labels, None, &Number(cell.get()))
                    }
                    Series::Histogram(cell) => {
                        let mut cumulative = 0;
                        for (at, bound) in cell.bounds.iter().enumerate() {
                            cumulative += cell.buckets[at].load(Ordering::Relaxed);
                            let le = Number(*bound).to_string();
                            line(&mut out, name, "_bucket", labels, Some(&le), &cumulative);
                        }
                        let count = cell.count.load(Ordering::Relaxed);
                        line(&mut out, name, "_bucket", labels, Some("+Inf"), &count);
                        line(
                            &mut out,
                            name,
                            "_sum",
                            labels,
                            None,
                            &Number(cell.sum.get()),
                        );
                        line(&mut out, name, "_count", labels, None, &count);
                    }
                }
            }
        }
        out
    }
}

/// A sample line: `name_suffix{k="v",...,le="bound"} value`.
fn line(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &Labels,
    le: Option<&str>,
    value: &dyn std::fmt::Display,
) {
    out.push_str(name);
    out.push_str(suffix);
    let le = le.map(|bound| ("le", bound));
    let pairs = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(le);
    let mut first = true;
    for (key, value) in pairs {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(key);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// A float as Prometheus reads it: `+Inf`, `-Inf`, `NaN`, or decimal digits.
struct Number(f64);

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            v if v.is_nan() => f.write_str("NaN"),
            v if v == f64::INFINITY => f.write_str("+Inf"),
            v if v == f64::NEG_INFINITY => f.write_str("-Inf"),
            v => write!(f, "{v}"),
        }
    }
}

impl metrics::Recorder for Prometheus {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let made = || Series::Counter(Arc::new(CounterCell(AtomicU64::new(0))));
        match self.series(key, "counter", made) {
            Series::Counter(cell) => Counter::from_arc(cell),
            _ => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let made = || Series::Gauge(Arc::new(GaugeCell(AtomicU64::new(0f64.to_bits()))));
        match self.series(key, "gauge", made) {
            Series::Gauge(cell) => Gauge::from_arc(cell),
            _ => Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let bounds = Arc::clone(&self.bounds);
        let made = || {
            Series::Histogram(Arc::new(HistogramCell {
                buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                bounds,
                sum: GaugeCell(AtomicU64::new(0f64.to_bits())),
                count: AtomicU64::new(0),
            }))
        };
        match self.series(key, "histogram", made) {
            Series::Histogram(cell) => Histogram::from_arc(cell),
            _ => Histogram::noop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_exposition_format() {
        let recorder = Prometheus::new(&[0.5, 0.1, 1.0]);
        metrics::with_local_recorder(&recorder, || {
            let ok = metrics::counter!("jobs_total", "pipeline" => "b\"x\\y\nz", "outcome" => "ok");
            ok.increment(2);
            metrics::counter!("jobs_total", "pipeline" => "a", "outcome" => "ok").increment(1);
            // The same labels again: the same series.
            ok.increment(1);
            metrics::counter!("plain_total").increment(7);
            let seconds = metrics::histogram!("step_seconds", "kind" => "load");
            for value in [0.0625, 0.09375, 0.5, 5.0] {
                seconds.record(value);
            }
            // NaN is counted above every bound, and makes the sum NaN.
            metrics::histogram!("odd_seconds").record(f64::NAN);
            metrics::gauge!("success").set(1.0);
            metrics::gauge!("level").set(2.5);
            metrics::gauge!("level").decrement(1.0);
            metrics::gauge!("never").set(f64::INFINITY);
            // Another kind under a taken name is not shown.
            metrics::gauge!("plain_total").set(3.0);
        });
        let expected = concat!(
            "# TYPE jobs_total counter\n",
            "jobs_total{pipeline=\"a\",outcome=\"ok\"} 1\n",
            "jobs_total{pipeline=\"b\\\"x\\\\y\\nz\",outcome=\"ok\"} 3\n",
            "\n",
            "# TYPE level gauge\n",
            "level 1.5\n",
            "\n",
            "# TYPE never gauge\n",
            "never +Inf\n",
            "\n",
            "# TYPE odd_seconds histogram\n",
            "odd_seconds_bucket{le=\"0.1\"} 0\n",
            "odd_seconds_bucket{le=\"0.5\"} 0\n",
            "odd_seconds_bucket{le=\"1\"} 0\n",
            "odd_seconds_bucket{le=\"+Inf\"} 1\n",
            "odd_seconds_sum NaN\n",
            "odd_seconds_count 1\n",
            "\n",
            "# TYPE plain_total counter\n",
            "plain_total 7\n",
            "\n",
            "# TYPE step_seconds histogram\n",
            "step_seconds_bucket{kind=\"load\",le=\"0.1\"} 2\n",
            "step_seconds_bucket{kind=\"load\",le=\"0.5\"} 3\n",
            "step_seconds_bucket{kind=\"load\",le=\"1\"} 3\n",
            "step_seconds_bucket{kind=\"load\",le=\"+Inf\"} 4\n",
            "step_seconds_sum{kind=\"load\"} 5.65625\n",
            "step_seconds_count{kind=\"load\"} 4\n",
            "\n",
            "# TYPE success gauge\n",
            "success 1\n",
        );
        assert_eq!(recorder.render(), expected);
    }

    #[test]
    fn an_empty_recorder_renders_nothing() {
        assert_eq!(Prometheus::new(&[1.0]).render(), "");
    }
}
