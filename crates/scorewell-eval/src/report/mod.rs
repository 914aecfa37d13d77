//! The human-facing views of an [`Evaluation`]: the terminal table and the HTML report.
//!
//! The report is one file with inline CSS and inline SVG plots: nothing is fetched when it is
//! opened, so it can be mailed or attached to a ticket.

pub mod plots;

use std::fmt::Write as _;

use crate::binary::BinaryMetrics;
use crate::bootstrap::Interval;
use crate::error::Result;
use crate::json::{Evaluation, ModelMetrics};
use plots::Series;

/// One line of the summary: a metric for both models and the change.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Metric name.
    pub metric: String,
    /// Whether larger is better.
    pub higher_is_better: bool,
    /// Candidate value.
    pub candidate: Option<f64>,
    /// Baseline value.
    pub baseline: Option<f64>,
    /// Candidate minus baseline.
    pub delta: Option<f64>,
    /// Bootstrap interval of the delta.
    pub ci: Option<Interval>,
}

/// The headline metrics of both models with deltas and intervals.
pub fn summary(e: &Evaluation) -> Vec<SummaryRow> {
    if let Some(cmp) = &e.comparison {
        return cmp
            .deltas
            .iter()
            .map(|d| SummaryRow {
                metric: d.metric.clone(),
                higher_is_better: d.higher_is_better,
                candidate: d.candidate,
                baseline: d.baseline,
                delta: d.delta,
                ci: d.ci,
            })
            .collect();
    }
    e.candidate
        .headline()
        .into_iter()
        .map(|(metric, value, higher_is_better)| SummaryRow {
            metric,
            higher_is_better,
            candidate: value,
            baseline: None,
            delta: None,
            ci: None,
        })
        .collect()
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.4}"))
}

fn signed(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:+.4}"))
}

fn ci(v: Option<Interval>) -> String {
    v.map_or_else(String::new, |c| format!("[{:+.4}, {:+.4}]", c.low, c.high))
}

/// The compact table printed after a run.
pub fn terminal_table(e: &Evaluation) -> String {
    let rows = summary(e);
    let comparing = e.baseline.is_some();
    let mut header = vec!["metric", "candidate"];
    if comparing {
        header.extend(["baseline", "delta"]);
        if e.comparison.as_ref().is_some_and(|c| c.bootstrap.is_some()) {
            header.push("95% CI");
        }
    }
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in &rows {
        let mut line = vec![r.metric.clone(), num(r.candidate)];
        if comparing {
            line.extend([num(r.baseline), signed(r.delta)]);
            if header.len() == 5 {
                line.push(ci(r.ci));
            }
        }
        cells.push(line);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            cells
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} rows evaluated ({} read, {} without label, {} with a NaN score); task: {}",
        e.rows.evaluated, e.rows.read, e.rows.missing_label, e.rows.nan_score, e.task
    );
    for line in &cells {
        let mut text = String::new();
        for (c, cell) in line.iter().enumerate() {
            if c == 0 {
                let _ = write!(text, "{cell:<w$}", w = widths[c]);
            } else {
                let _ = write!(text, "  {cell:>w$}", w = widths[c]);
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    }
    if let Some(f) = e.comparison.as_ref().and_then(|c| c.flips.as_ref()) {
        let _ = writeln!(
            out,
            "flips at {}: {} newly flagged ({} positive, {} negative), {} newly missed, {} newly cleared",
            flip_thresholds(f),
            f.newly_flagged_positive + f.newly_flagged_negative,
            f.newly_flagged_positive,
            f.newly_flagged_negative,
            f.newly_missed,
            f.newly_cleared
        );
    }
    out
}

/// The decision thresholds of a flip count: `0.5`, or `0.5 (candidate) / 0.7 (baseline)` when
/// each model has its own rule.
fn flip_thresholds(f: &crate::compare::FlipCounts) -> String {
    if f.threshold == f.baseline_threshold {
        format!("{}", f.threshold)
    } else {
        format!(
            "{} (candidate) / {} (baseline)",
            f.threshold, f.baseline_threshold
        )
    }
}

/// Escape text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}th,td{padding:.25rem .7rem;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f6f6f6}.better{color:#1a7f37}.worse{color:#c62828}
.meta{color:#555;font-size:.9rem}.plots{display:flex;flex-wrap:wrap;gap:.6rem}.plots svg{border:1px solid #eee}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}";

fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{c}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}

fn delta_cell(r: &SummaryRow) -> String {
    match r.delta {
        Some(d) if d != 0.0 => {
            let good = (d > 0.0) == r.higher_is_better;
            format!(
                "<span class=\"{}\">{:+.4}</span>",
                if good { "better" } else { "worse" },
                d
            )
        }
        d => signed(d),
    }
}

fn binary_tables(out: &mut String, name: &str, m: &BinaryMetrics) {
    let _ = write!(out, "<h3>{}</h3>", esc(name));
    let rows: Vec<Vec<String>> = m
        .at_thresholds
        .iter()
        .map(|t| {
            vec![
                format!("{}", t.threshold),
                format!("{:.4}", t.precision),
                format!("{:.4}", t.recall),
                format!("{:.4}", t.f1),
                t.tp.to_string(),
                t.fp.to_string(),
                t.fn_.to_string(),
                t.tn.to_string(),
            ]
        })
        .collect();
    table(
        out,
        &[
            "threshold",
            "precision",
            "recall",
            "F1",
            "TP",
            "FP",
            "FN",
            "TN",
        ],
        &rows,
    );
    if !m.recall_at_precision.is_empty() {
        let rows: Vec<Vec<String>> = m
            .recall_at_precision
            .iter()
            .map(|r| {
                vec![
                    format!("{}", r.min_precision),
                    format!("{:.4}", r.recall),
                    num(r.threshold),
                    num(r.precision),
                ]
            })
            .collect();
        table(
            out,
            &["min precision", "recall", "threshold", "precision"],
            &rows,
        );
    }
    match &m.calibration {
        Some(bins) => {
            let rows: Vec<Vec<String>> = bins
                .iter()
                .map(|b| {
                    vec![
                        format!("({:.2}, {:.2}]", b.lower, b.upper),
                        b.rows.to_string(),
                        format!("{:.4}", b.mean_predicted),
                        format!("{:.4}", b.fraction_positive),
                    ]
                })
                .collect();
            table(
                out,
                &["score bin", "rows", "mean score", "fraction positive"],
                &rows,
            );
        }
        None => out.push_str(
            "<p class=\"meta\">No calibration table: some scores lie outside [0, 1].</p>",
        ),
    }
}

/// The self-contained HTML report.
pub fn html(e: &Evaluation) -> Result<String> {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>scorewell eval: {}</title><style>{STYLE}</style></head><body>\n",
        esc(&e.candidate_model)
    );
    let _ = write!(out, "<h1>scorewell eval</h1><p class=\"meta\">");
    let _ = write!(
        out,
        "<span class=\"swatch\" style=\"background:#1f77b4\"></span>candidate <code>{}</code>",
        esc(&e.candidate_model)
    );
    if let Some(b) = &e.baseline_model {
        let _ = write!(
            out,
            " &nbsp; <span class=\"swatch\" style=\"background:#ff7f0e\"></span>baseline <code>{}</code>",
            esc(b)
        );
    }
    let _ = writeln!(
        out,
        "<br>input <code>{}</code>, label <code>{}</code>, task {}: {} rows evaluated of {} read ({} without label, {} with a NaN score)</p>",
        esc(&e.input),
        esc(&e.label),
        esc(&e.task),
        e.rows.evaluated,
        e.rows.read,
        e.rows.missing_label,
        e.rows.nan_score
    );

    out.push_str("<h2>Summary</h2>");
    let rows = summary(e);
    let comparing = e.baseline.is_some();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut line = vec![esc(&r.metric), num(r.candidate)];
            if comparing {
                line.extend([num(r.baseline), delta_cell(r), ci(r.ci)]);
            }
            line
        })
        .collect();
    if comparing {
        table(
            &mut out,
            &["metric", "candidate", "baseline", "delta", "95% CI"],
            &body,
        );
    } else {
        table(&mut out, &["metric", "candidate"], &body);
    }
    if let Some(cmp) = &e.comparison {
        if let Some(b) = &cmp.bootstrap {
            let _ = write!(
                out,
                "<p class=\"meta\">Intervals: {} bootstrap replicates over {} seeded row blocks (seed {}), {:.0}% two-sided.</p>",
                b.replicates,
                b.blocks,
                b.seed,
                b.level * 100.0
            );
        }
        if let Some(f) = &cmp.flips {
            out.push_str("<h2>Decision flips</h2>");
            table(
                &mut out,
                &[
                    "threshold",
                    "newly flagged, label 1",
                    "newly flagged, label 0",
                    "newly missed",
                    "newly cleared",
                ],
                &[vec![
                    flip_thresholds(f),
                    f.newly_flagged_positive.to_string(),
                    f.newly_flagged_negative.to_string(),
                    f.newly_missed.to_string(),
                    f.newly_cleared.to_string(),
                ]],
            );
        }
    }

    let binaries: Vec<Series<'_>> = std::iter::once(("candidate", &e.candidate))
        .chain(e.baseline.as_ref().map(|b| ("baseline", b)))
        .filter_map(|(name, m)| m.binary().map(|metrics| Series { name, metrics }))
        .collect();
    if !binaries.is_empty() {
        out.push_str("<h2>Plots</h2><div class=\"plots\">");
        out.push_str(&plots::roc(&binaries)?);
        out.push_str(&plots::precision_recall(&binaries)?);
        out.push_str(&plots::threshold(&binaries)?);
        if let Some(svg) = plots::calibration(&binaries)? {
            out.push_str(&svg);
        }
        for s in &binaries {
            out.push_str(&plots::distribution(s)?);
        }
        out.push_str("</div>\n<h2>Thresholds and calibration</h2>");
        for s in &binaries {
            binary_tables(&mut out, s.name, s.metrics);
        }
    }
    for (name, m) in std::iter::once(("candidate", &e.candidate))
        .chain(e.baseline.as_ref().map(|b| ("baseline", b)))
    {
        if let ModelMetrics::Multiclass(m) = m {
            let _ = write!(out, "<h2>Per class: {name}</h2>");
            let rows: Vec<Vec<String>> = m
                .per_class
                .iter()
                .map(|c| {
                    vec![
                        c.class.to_string(),
                        c.support.to_string(),
                        c.predicted.to_string(),
                        format!("{:.4}", c.precision),
                        format!("{:.4}", c.recall),
                        format!("{:.4}", c.f1),
                    ]
                })
                .collect();
            table(
                &mut out,
                &["class", "support", "predicted", "precision", "recall", "F1"],
                &rows,
            );
        }
    }
    if let Some(g) = &e.group_by {
        let _ = write!(out, "<h2>By <code>{}</code></h2>", esc(g));
        let metrics: Vec<String> = e
            .groups
            .first()
            .map(|gr| {
                gr.candidate
                    .headline()
                    .into_iter()
                    .take(4)
                    .map(|h| h.0)
                    .collect()
            })
            .unwrap_or_default();
        let mut header: Vec<String> = vec![g.clone(), "rows".into()];
        for m in &metrics {
            header.push(format!("{m} (candidate)"));
            if comparing {
                header.push(format!("{m} (baseline)"));
            }
        }
        let rows: Vec<Vec<String>> = e
            .groups
            .iter()
            .map(|gr| {
                let c = gr.candidate.headline();
                let b = gr.baseline.as_ref().map(|b| b.headline());
                let mut line = vec![esc(&gr.value), gr.rows.to_string()];
                for i in 0..metrics.len() {
                    line.push(num(c.get(i).and_then(|h| h.1)));
                    if comparing {
                        line.push(num(b.as_ref().and_then(|b| b.get(i)).and_then(|h| h.1)));
                    }
                }
                line
            })
            .collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        table(&mut out, &header, &rows);
    }
    out.push_str("<p class=\"meta\">Metric definitions: docs/EVAL.md. Machine-readable values: metrics.json.</p></body></html>\n");
    Ok(out)
}
