//! `clientele clv plot`: the published diagnostic charts of a fitted purchase model, each
//! drawn once per backend into an SVG and a PNG.
//!
//! PNG text needs a font: DejaVu Sans (its licence is in `assets/fonts/LICENSE`) is built
//! into the binary, so charts render the same on a machine without any fonts installed.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clientele_clv::PurchaseModel;
use clientele_clv::diagnostics::{cumulative_tracking, holdout_by_frequency, p_alive_matrix};
use clientele_clv::report::FREQUENCY_ROWS;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::clv_input::Prepared;

const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const SIZE: (u32, u32) = (900, 560);
const ACTUAL: RGBColor = RGBColor(31, 119, 180);
const MODEL: RGBColor = RGBColor(255, 127, 14);

/// One chart, drawable on any backend.
trait Chart {
    /// File name without extension.
    fn name(&self) -> &'static str;
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Write every chart the data allows into `dir`; returns the files written.
pub fn write_charts(
    dir: &Path,
    p: &Prepared,
    model: &dyn PurchaseModel,
) -> anyhow::Result<Vec<PathBuf>> {
    register_font()?;
    std::fs::create_dir_all(dir).with_context(|| format!("--out: creating {}", dir.display()))?;
    let unit_name = if p.unit.days() == 1.0 {
        "days"
    } else {
        "weeks"
    };
    let mut written = Vec::new();
    let Some(holdout_units) = p.holdout_units else {
        bail!(
            "--holdout-end: the charts compare predictions with a holdout period; give its last day"
        );
    };
    let frequency = FrequencyChart {
        rows: holdout_by_frequency(model, &p.summaries, holdout_units, FREQUENCY_ROWS)
            .into_iter()
            .map(|r| {
                let n = r.customers.max(1) as f64;
                (r.frequency, r.actual / n, r.predicted / n)
            })
            .collect(),
        holdout_units,
        unit_name,
    };
    written.extend(render(dir, &frequency)?);
    let max_t = p.summaries.iter().map(|c| c.t).fold(0.0, f64::max);
    let max_frequency = p
        .summaries
        .iter()
        .map(|c| c.frequency as usize)
        .max()
        .unwrap_or(0)
        .clamp(1, 40);
    let alive = AliveChart {
        matrix: p_alive_matrix(model, max_frequency, max_t),
        t: max_t,
        unit_name,
    };
    written.extend(render(dir, &alive)?);
    let end = p.holdout_end.unwrap_or(p.calibration_end);
    let tracking = TrackingChart {
        points: cumulative_tracking(model, &p.txns, &p.summaries, end, 7, p.unit)
            .into_iter()
            .enumerate()
            .map(|(week, pt)| (week as f64 + 1.0, pt.actual, pt.predicted, pt.day))
            .collect(),
        calibration_end: p.calibration_end,
    };
    written.extend(render(dir, &tracking)?);
    Ok(written)
}

fn register_font() -> anyhow::Result<()> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow::anyhow!("the built-in chart font does not load"))
}

fn render(dir: &Path, chart: &impl Chart) -> anyhow::Result<[PathBuf; 2]> {
    let svg = dir.join(format!("{}.svg", chart.name()));
    let png = dir.join(format!("{}.png", chart.name()));
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        chart
            .draw(&root)
            .and_then(|()| root.present().map_err(err))
            .map_err(|e| anyhow::anyhow!("drawing {}: {e}", svg.display()))?;
    }
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        chart
            .draw(&root)
            .and_then(|()| root.present().map_err(err))
            .map_err(|e| anyhow::anyhow!("drawing {}: {e}", png.display()))?;
    }
    Ok([svg, png])
}

/// Mean holdout purchases per customer by calibration frequency, actual beside predicted.
struct FrequencyChart {
    /// (frequency bucket, actual mean, predicted mean).
    rows: Vec<(usize, f64, f64)>,
    holdout_units: f64,
    unit_name: &'static str,
}

impl Chart for FrequencyChart {
    fn name(&self) -> &'static str {
        "holdout_by_frequency"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let top = self
            .rows
            .iter()
            .map(|(_, a, p)| a.max(*p))
            .fold(0.0, f64::max)
            .max(0.1)
            * 1.15;
        let buckets = self.rows.len();
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Holdout purchases ({:.0} {}) by calibration purchases",
                    self.holdout_units, self.unit_name
                ),
                ("sans-serif", 22),
            )
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..buckets as f64 - 0.5, 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(buckets)
            .x_label_formatter(&|x| {
                let i = x.round() as usize;
                if i + 1 == buckets {
                    format!("{i}+")
                } else {
                    i.to_string()
                }
            })
            .x_desc("repeat purchases in calibration")
            .y_desc("mean purchases per customer in holdout")
            .draw()
            .map_err(err)?;
        let bars = |offset: f64, pick: fn(&(usize, f64, f64)) -> f64, color: RGBColor| {
            self.rows
                .iter()
                .map(move |r| {
                    let x = r.0 as f64 + offset;
                    Rectangle::new([(x, 0.0), (x + 0.35, pick(r))], color.filled())
                })
                .collect::<Vec<_>>()
        };
        chart
            .draw_series(bars(-0.37, |r| r.1, ACTUAL))
            .map_err(err)?
            .label("actual")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], ACTUAL.filled()));
        chart
            .draw_series(bars(0.02, |r| r.2, MODEL))
            .map_err(err)?
            .label("model")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], MODEL.filled()));
        legend(&mut chart)
    }
}

fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(err)
}

/// P(alive) over recency × frequency for a customer observed `t` units.
struct AliveChart {
    /// `matrix[frequency][recency]`.
    matrix: Vec<Vec<f64>>,
    t: f64,
    unit_name: &'static str,
}

/// Dark blue (0) through teal to yellow (1), readable in print and for colour-blind readers.
fn heat(p: f64) -> RGBColor {
    let stops = [
        (68.0, 1.0, 84.0),
        (33.0, 145.0, 140.0),
        (253.0, 231.0, 37.0),
    ];
    let p = p.clamp(0.0, 1.0) * 2.0;
    let i = (p.floor() as usize).min(1);
    let f = p - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

impl Chart for AliveChart {
    fn name(&self) -> &'static str {
        "p_alive_matrix"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let (plot, key) = root.split_horizontally(SIZE.0 - 110);
        let rows = self.matrix.len();
        let cols = self.matrix.first().map_or(1, Vec::len);
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                format!(
                    "P(alive) by recency and frequency (T = {:.0} {})",
                    self.t, self.unit_name
                ),
                ("sans-serif", 22),
            )
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..cols as f64, 0f64..rows as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(format!("recency ({})", self.unit_name))
            .y_desc("repeat purchases")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(self.matrix.iter().enumerate().flat_map(|(x, row)| {
                row.iter().enumerate().map(move |(r, p)| {
                    Rectangle::new(
                        [(r as f64, x as f64), (r as f64 + 1.0, x as f64 + 1.0)],
                        heat(*p).filled(),
                    )
                })
            }))
            .map_err(err)?;
        // Colour key: P(alive) 0 at the bottom to 1 at the top.
        let mut scale = ChartBuilder::on(&key)
            .margin_top(60)
            .margin_bottom(60)
            .margin_right(20)
            .y_label_area_size(40)
            .build_cartesian_2d(0f64..1.0, 0f64..1.0)
            .map_err(err)?;
        scale
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(6)
            .y_label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        scale
            .draw_series((0..100).map(|i| {
                let lo = f64::from(i) / 100.0;
                Rectangle::new([(0.0, lo), (1.0, lo + 0.01)], heat(lo + 0.005).filled())
            }))
            .map_err(err)?;
        Ok(())
    }
}

/// Cumulative repeat purchases week by week, actual against the model.
struct TrackingChart {
    /// (week, actual, predicted, last day of the week).
    points: Vec<(f64, f64, f64, i32)>,
    calibration_end: i32,
}

impl Chart for TrackingChart {
    fn name(&self) -> &'static str {
        "cumulative_tracking"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let weeks = self.points.last().map_or(1.0, |p| p.0);
        let top = self
            .points
            .iter()
            .map(|p| p.1.max(p.2))
            .fold(0.0, f64::max)
            .max(1.0)
            * 1.05;
        let mut chart = ChartBuilder::on(root)
            .caption("Cumulative repeat purchases", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..weeks, 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("week")
            .y_desc("repeat purchases")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                self.points.iter().map(|p| (p.0, p.1)),
                ACTUAL.stroke_width(2),
            ))
            .map_err(err)?
            .label("actual")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ACTUAL.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                self.points.iter().map(|p| (p.0, p.2)),
                MODEL.stroke_width(2),
            ))
            .map_err(err)?
            .label("model")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MODEL.stroke_width(2)));
        if let Some(cut) = self.points.iter().find(|p| p.3 >= self.calibration_end) {
            chart
                .draw_series(LineSeries::new(
                    [(cut.0, 0.0), (cut.0, top)],
                    BLACK.mix(0.5).stroke_width(1),
                ))
                .map_err(err)?
                .label("end of calibration")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
        }
        legend(&mut chart)
    }
}
