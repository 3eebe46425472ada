//! The study's plots, drawn with plotters' SVG backend (text as SVG `<text>`, no fonts read):
//! DI per model (bars with the standard deviation), DI against PSNR, attribution mass against
//! distance from the window, receptive field against the 95 % mass radius, texture against DI,
//! and the sanity check's similarity against the layers randomised.

use plotters::prelude::*;
use srlens_report::plot::{colour, line_plot, pad, Curve, LinePlot};

use crate::results::{ResultLine, Status};
use crate::summary::{Row, Summary};

const SIZE: (u32, u32) = (640, 400);

/// A row's name in legends: the model, with the method when the study has several.
pub fn row_name(s: &Summary, r: &Row) -> String {
    let methods: std::collections::BTreeSet<&str> =
        s.rows.iter().map(|r| r.method.as_str()).collect();
    if methods.len() > 1 {
        format!("{} / {}", r.model, r.method)
    } else {
        r.model.clone()
    }
}

/// Draws into an SVG string of the study's plot size.
fn svg(
    draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> String {
    srlens_report::plot::svg(SIZE, draw)
}

macro_rules! e {
    ($x:expr) => {
        $x.map_err(|e| e.to_string())?
    };
}

/// DI per row: a bar at the mean, a line over mean ± sd.
pub fn di_bars(s: &Summary) -> String {
    let rows: Vec<&Row> = s.rows.iter().filter(|r| r.di.mean.is_some()).collect();
    let names: Vec<String> = rows.iter().map(|r| row_name(s, r)).collect();
    let top = rows
        .iter()
        .map(|r| r.di.mean.unwrap() + r.di.sd.unwrap_or(0.0))
        .fold(1.0f64, f64::max)
        * 1.1;
    svg(|root| {
        let n = rows.len().max(1) as f64;
        let mut chart = e!(ChartBuilder::on(root)
            .caption(
                "Diffusion Index per model (mean ± sd over windows)",
                ("sans-serif", 18)
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..top));
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        e!(chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(rows.len().max(1) * 2 + 1)
            .x_label_formatter(&label)
            .y_desc("DI")
            .draw());
        for (i, r) in rows.iter().enumerate() {
            let (x, m) = (i as f64, r.di.mean.unwrap());
            e!(chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.3, 0.0), (x + 0.3, m)],
                colour(i).mix(0.8).filled(),
            ))));
            if let Some(sd) = r.di.sd {
                let line = |a: (f64, f64), b: (f64, f64)| {
                    PathElement::new(vec![a, b], BLACK.stroke_width(2))
                };
                e!(chart.draw_series([
                    line((x, m - sd), (x, m + sd)),
                    line((x - 0.1, m - sd), (x + 0.1, m - sd)),
                    line((x - 0.1, m + sd), (x + 0.1, m + sd)),
                ]));
            }
        }
        Ok(())
    })
}

/// A labelled scatter, one point per `(name, x, y)`; `diagonal` draws y = x.
fn scatter(
    caption: &str,
    xd: &str,
    yd: &str,
    points: &[(String, f64, f64)],
    diagonal: bool,
) -> String {
    let (xs, ys): (Vec<f64>, Vec<f64>) = points.iter().map(|p| (p.1, p.2)).unzip();
    let lo = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (mut x0, mut x1) = pad(lo(&xs), hi(&xs));
    let (mut y0, mut y1) = pad(lo(&ys), hi(&ys));
    if diagonal {
        (x0, y0) = (x0.min(y0).min(0.0), x0.min(y0).min(0.0));
        (x1, y1) = (x1.max(y1), x1.max(y1));
    }
    svg(|root| {
        let mut chart = e!(ChartBuilder::on(root)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, y0..y1));
        e!(chart.configure_mesh().x_desc(xd).y_desc(yd).draw());
        if diagonal {
            e!(chart.draw_series(LineSeries::new([(x0, x0), (x1, x1)], BLACK.mix(0.4))))
                .label("y = x")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.mix(0.4)));
        }
        for (i, (name, x, y)) in points.iter().enumerate() {
            let c = colour(i);
            e!(chart.draw_series(std::iter::once(Circle::new((*x, *y), 6, c.filled()))))
                .label(name.clone())
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, c.filled()));
        }
        if !points.is_empty() {
            e!(chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.3))
                .draw());
        }
        Ok(())
    })
}

/// Mean DI against the model's PSNR, one point per row.
pub fn di_psnr(s: &Summary) -> String {
    let points: Vec<(String, f64, f64)> = s
        .rows
        .iter()
        .filter_map(|r| Some((row_name(s, r), r.psnr?, r.di.mean?)))
        .collect();
    scatter(
        "DI against PSNR (one point per model)",
        "PSNR (dB, Y)",
        "mean DI",
        &points,
        false,
    )
}

/// The receptive-field radius against the mean 95 % mass radius, where the backend bounds it.
pub fn receptive_field(s: &Summary) -> String {
    let points: Vec<(String, f64, f64)> = s
        .rows
        .iter()
        .filter_map(|r| Some((row_name(s, r), r.radius_95.mean?, r.receptive_field? as f64)))
        .collect();
    scatter(
        "Receptive field against the 95 % mass radius",
        "95 % mass radius (LR px, mean)",
        "receptive-field radius (LR px)",
        &points,
        true,
    )
}

/// Per row, the mean over its windows of the mass within each distance.
pub fn mass_curves(s: &Summary, lines: &[ResultLine]) -> String {
    let curves: Vec<(String, Vec<f64>)> = s
        .rows
        .iter()
        .filter_map(|r| {
            let own: Vec<&Vec<f64>> = lines
                .iter()
                .filter(|l| {
                    l.status == Status::Ok
                        && l.model == r.model
                        && l.method == r.method
                        && !l.mass_curve.is_empty()
                })
                .map(|l| &l.mass_curve)
                .collect();
            let len = own.iter().map(|c| c.len()).max()?;
            let mean = (0..len)
                .map(|i| {
                    own.iter().map(|c| *c.get(i).unwrap_or(&1.0)).sum::<f64>() / own.len() as f64
                })
                .collect();
            Some((row_name(s, r), mean))
        })
        .collect();
    let curves: Vec<Curve> = curves
        .into_iter()
        .enumerate()
        .map(|(i, (name, c))| {
            let points = c.iter().enumerate().map(|(d, v)| (d as f64, *v)).collect();
            Curve::new(&name, points, i, false)
        })
        .collect();
    line_plot(
        &LinePlot {
            caption: "Attribution mass within a distance of the window",
            x_desc: "distance from the window's centre (LR px)",
            y_desc: "fraction of the mass",
            size: SIZE,
            y_range: Some((0.0, 1.02)),
            legend: SeriesLabelPosition::LowerRight,
        },
        &curves,
    )
}

/// Per row with a sanity check, the mean over its windows of the Spearman correlation of the
/// absolute maps (solid) and their SSIM (dashed) against the number of layers randomised,
/// starting from the trained network's (1 at 0 layers).
pub fn sanity(s: &Summary) -> String {
    let mut curves = Vec::new();
    for (i, r) in s.rows.iter().filter(|r| !r.sanity.is_empty()).enumerate() {
        let name = row_name(s, r);
        let pts = |f: fn(&crate::summary::SanityLevel) -> Option<f64>| -> Vec<(f64, f64)> {
            std::iter::once((0.0, 1.0))
                .chain(
                    r.sanity
                        .iter()
                        .filter_map(|l| Some((l.layers as f64, f(l)?))),
                )
                .collect()
        };
        curves.push(Curve::new(
            &format!("{name}: Spearman |A|"),
            pts(|l| l.spearman_abs.mean),
            i,
            false,
        ));
        curves.push(Curve::new(
            &format!("{name}: SSIM"),
            pts(|l| l.ssim.mean),
            i,
            true,
        ));
    }
    line_plot(
        &LinePlot {
            caption: "Sanity check: similarity to the trained network's maps",
            x_desc: "layers randomised, from the output end",
            y_desc: "similarity (mean over the windows)",
            size: SIZE,
            y_range: Some((-0.2, 1.05)),
            legend: SeriesLabelPosition::UpperRight,
        },
        &curves,
    )
}

/// Each window's texture measure against its DI, a colour per row.
pub fn texture_di(s: &Summary, lines: &[ResultLine]) -> String {
    let series: Vec<(String, Vec<(f64, f64)>)> = s
        .rows
        .iter()
        .map(|r| {
            let pts = lines
                .iter()
                .filter(|l| {
                    l.status == Status::Ok
                        && !l.degenerate()
                        && l.model == r.model
                        && l.method == r.method
                })
                .filter_map(|l| Some((l.texture?, l.figure("figures.di")?)))
                .collect();
            (row_name(s, r), pts)
        })
        .collect();
    let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.1.iter().copied()).collect();
    let ymax = all.iter().map(|p| p.1).fold(1.0f64, f64::max) * 1.1;
    svg(|root| {
        let mut chart = e!(ChartBuilder::on(root)
            .caption("DI against the HR patch's texture", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..1.0, 0f64..ymax));
        e!(chart
            .configure_mesh()
            .x_desc("dominant-frequency energy share of the HR window (1: stripes, 0: irregular)")
            .y_desc("DI")
            .draw());
        for (i, (name, pts)) in series.iter().enumerate() {
            let c = colour(i);
            e!(chart.draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled()))))
                .label(name.clone())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, c.filled()));
        }
        if !all.is_empty() {
            e!(chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.3))
                .draw());
        }
        Ok(())
    })
}
