//! The report's plots, drawn by `plotters` into SVG strings (its SVG backend only: text is
//! emitted as `<text>` elements, so no font files are read and the HTML stays self-contained).

use plotters::prelude::*;

use crate::binary::{BinaryMetrics, HISTOGRAM_BINS, unsquash};
use crate::error::{EvalError, Result};

const SIZE: (u32, u32) = (460, 340);
/// Colours of the candidate and the baseline.
pub const COLOURS: [RGBColor; 2] = [RGBColor(31, 119, 180), RGBColor(255, 127, 14)];
const FONT: &str = "sans-serif";

/// A named, coloured polyline.
type Line = (String, RGBColor, Vec<(f64, f64)>);

/// One model's curves for a plot.
pub struct Series<'a> {
    /// `candidate` or `baseline`.
    pub name: &'a str,
    /// Its metrics.
    pub metrics: &'a BinaryMetrics,
}

fn err(plot: &'static str) -> impl Fn(&dyn std::fmt::Display) -> EvalError {
    move |e| EvalError::Plot {
        plot,
        message: e.to_string(),
    }
}

/// A chart with both axes in `[0, 1]` and one line per model.
fn unit_lines(
    plot: &'static str,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    lines: Vec<Line>,
    diagonal: bool,
) -> Result<String> {
    let e = err(plot);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 17))
            .margin(12)
            .x_label_area_size(38)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|x| e(&x))?;
        if diagonal {
            chart
                .draw_series(LineSeries::new(
                    vec![(0.0, 0.0), (1.0, 1.0)],
                    RGBColor(170, 170, 170),
                ))
                .map_err(|x| e(&x))?;
        }
        for (name, colour, points) in lines {
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font((FONT, 13))
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}

/// ROC curves.
pub fn roc(series: &[Series<'_>]) -> Result<String> {
    let lines = series
        .iter()
        .zip(COLOURS)
        .map(|(s, c)| {
            let (p, n) = (
                s.metrics.positives.max(1) as f64,
                s.metrics.negatives.max(1) as f64,
            );
            let pts = s
                .metrics
                .curve
                .iter()
                .map(|q| (q.fp as f64 / n, q.tp as f64 / p))
                .collect();
            let label = match s.metrics.roc_auc {
                Some(a) => format!("{} (AUC {a:.4})", s.name),
                None => s.name.to_string(),
            };
            (label, c, pts)
        })
        .collect();
    unit_lines(
        "ROC",
        "ROC curve",
        "false positive rate",
        "true positive rate",
        lines,
        true,
    )
}

/// Precision-recall curves (step points as `precision_recall_curve` gives them).
pub fn precision_recall(series: &[Series<'_>]) -> Result<String> {
    let lines = series
        .iter()
        .zip(COLOURS)
        .map(|(s, c)| {
            let p = s.metrics.positives.max(1) as f64;
            let pts = s
                .metrics
                .curve
                .iter()
                .filter(|q| q.tp + q.fp > 0)
                .map(|q| (q.tp as f64 / p, q.tp as f64 / (q.tp + q.fp) as f64))
                .collect();
            let label = format!("{} (AP {:.4})", s.name, s.metrics.average_precision);
            (label, c, pts)
        })
        .collect();
    unit_lines(
        "precision-recall",
        "Precision-recall curve",
        "recall",
        "precision",
        lines,
        false,
    )
}

/// Calibration curves (mean score vs fraction positive per bin).
pub fn calibration(series: &[Series<'_>]) -> Result<Option<String>> {
    let mut lines = Vec::new();
    for (s, c) in series.iter().zip(COLOURS) {
        if let Some(bins) = &s.metrics.calibration {
            let pts = bins
                .iter()
                .map(|b| (b.mean_predicted, b.fraction_positive))
                .collect();
            lines.push((s.name.to_string(), c, pts));
        }
    }
    if lines.is_empty() {
        return Ok(None);
    }
    unit_lines(
        "calibration",
        "Calibration",
        "mean predicted probability",
        "fraction positive",
        lines,
        true,
    )
    .map(Some)
}

/// Precision and recall against the threshold.
pub fn threshold(series: &[Series<'_>]) -> Result<String> {
    let e = err("threshold");
    let finite = |t: f64| t.is_finite();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        for q in s.metrics.curve.iter().filter(|q| finite(q.threshold)) {
            lo = lo.min(q.threshold);
            hi = hi.max(q.threshold);
        }
    }
    if !(lo.is_finite() && hi.is_finite()) || lo == hi {
        (lo, hi) = (0.0, 1.0);
    }
    if lo >= 0.0 && hi <= 1.0 {
        (lo, hi) = (0.0, 1.0);
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Precision and recall by threshold", (FONT, 17))
            .margin(12)
            .x_label_area_size(38)
            .y_label_area_size(48)
            .build_cartesian_2d(lo..hi, 0f64..1.02f64)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("threshold (flag when score >= threshold)")
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|x| e(&x))?;
        for (s, colour) in series.iter().zip(COLOURS) {
            let p = s.metrics.positives.max(1) as f64;
            let pts: Vec<&crate::binary::CurvePoint> = s
                .metrics
                .curve
                .iter()
                .filter(|q| finite(q.threshold) && q.tp + q.fp > 0)
                .collect();
            let precision: Vec<(f64, f64)> = pts
                .iter()
                .map(|q| (q.threshold, q.tp as f64 / (q.tp + q.fp) as f64))
                .collect();
            let recall: Vec<(f64, f64)> =
                pts.iter().map(|q| (q.threshold, q.tp as f64 / p)).collect();
            chart
                .draw_series(LineSeries::new(precision, colour.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(format!("{} precision", s.name))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            let dashed = colour.mix(0.55).stroke_width(2);
            chart
                .draw_series(LineSeries::new(recall, dashed))
                .map_err(|x| e(&x))?
                .label(format!("{} recall", s.name))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], dashed));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font((FONT, 13))
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}

/// Bars of the score distribution by label: `(left edge, right edge, share of label-0 rows,
/// share of label-1 rows)`, over the range of scores seen, in about 40 bins.
fn distribution_bars(m: &BinaryMetrics) -> Vec<(f64, f64, f64, f64)> {
    let h = &m.histogram;
    if !(h.min.is_finite() && h.max.is_finite()) {
        return Vec::new();
    }
    let (lo, hi) = if h.min >= 0.0 && h.max <= 1.0 {
        (0.0, 1.0)
    } else {
        (h.min, h.max)
    };
    let first = crate::binary::grid_bin(lo, HISTOGRAM_BINS);
    let last = crate::binary::grid_bin(hi, HISTOGRAM_BINS);
    let span = last - first + 1;
    let group = span.div_ceil(40).max(1);
    let (np, nn) = (m.positives.max(1) as f64, m.negatives.max(1) as f64);
    let mut bars = Vec::new();
    let mut start = first;
    while start <= last {
        let end = (start + group - 1).min(last);
        let pos: u64 = h.pos[start..=end].iter().sum();
        let neg: u64 = h.neg[start..=end].iter().sum();
        let left = unsquash(start as f64 / HISTOGRAM_BINS as f64).max(lo);
        let right = unsquash((end + 1) as f64 / HISTOGRAM_BINS as f64).min(hi);
        bars.push((left, right, neg as f64 / nn, pos as f64 / np));
        start = end + 1;
    }
    bars
}

/// The score distribution of one model, label 0 and label 1 as step outlines.
pub fn distribution(s: &Series<'_>) -> Result<String> {
    let e = err("score distribution");
    let bars = distribution_bars(s.metrics);
    let lo = bars.first().map_or(0.0, |b| b.0);
    let hi = bars.last().map_or(1.0, |b| b.1).max(lo + 1e-9);
    let top = bars
        .iter()
        .map(|b| b.2.max(b.3))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.08;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Scores by label: {}", s.name), (FONT, 17))
            .margin(12)
            .x_label_area_size(38)
            .y_label_area_size(48)
            .build_cartesian_2d(lo..hi, 0f64..top)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("score")
            .y_desc("share of the label's rows")
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|x| e(&x))?;
        let colours = [RGBColor(90, 90, 90), RGBColor(214, 39, 40)];
        for (label, colour) in colours.into_iter().enumerate() {
            let value = |b: &(f64, f64, f64, f64)| if label == 0 { b.2 } else { b.3 };
            chart
                .draw_series(bars.iter().map(|b| {
                    Rectangle::new([(b.0, 0.0), (b.1, value(b))], colour.mix(0.28).filled())
                }))
                .map_err(|x| e(&x))?;
            let mut outline = Vec::with_capacity(bars.len() * 2);
            for b in &bars {
                outline.push((b.0, value(b)));
                outline.push((b.1, value(b)));
            }
            chart
                .draw_series(LineSeries::new(outline, colour.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(format!("label {label}"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperMiddle)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font((FONT, 13))
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}
