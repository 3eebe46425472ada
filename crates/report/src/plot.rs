//! Plots as SVG strings, drawn with plotters' SVG backend (text as SVG `<text>`, no fonts
//! read): the helpers every plot of the report and the study shares, and line plots.

use plotters::prelude::*;

/// The colour of series `i` (matplotlib's `tab10`).
pub fn colour(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

/// Draws into an SVG string of `size` pixels; a drawing error gives an SVG that says so.
pub fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> String {
    let mut text = String::new();
    let failed = {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        let r = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|_| draw(&root));
        let p = root.present().map_err(|e| e.to_string());
        r.and(p).err()
    };
    match failed {
        None => text,
        Some(e) => format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"40\"><text x=\"8\" y=\"24\">plot failed: {}</text></svg>",
            size.0,
            e.replace('&', "&amp;").replace('<', "&lt;")
        ),
    }
}

/// `[lo, hi]` widened by 8 % on each side (`[0, 1]` when either is not finite).
pub fn pad(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let d = (hi - lo).abs().max(1e-9);
    (lo - 0.08 * d, hi + 0.08 * d)
}

/// One line of a [`line_plot`].
pub struct Curve {
    /// The legend's text.
    pub name: String,
    /// The points, in x order.
    pub points: Vec<(f64, f64)>,
    /// The [`colour`] index.
    pub colour: usize,
    /// Drawn dashed (a reference curve).
    pub dashed: bool,
}

impl Curve {
    /// A curve named `name`.
    pub fn new(name: &str, points: Vec<(f64, f64)>, colour: usize, dashed: bool) -> Self {
        Curve {
            name: name.into(),
            points,
            colour,
            dashed,
        }
    }
}

/// The frame of a [`line_plot`].
pub struct LinePlot<'a> {
    /// The title.
    pub caption: &'a str,
    /// The x axis' description.
    pub x_desc: &'a str,
    /// The y axis' description.
    pub y_desc: &'a str,
    /// Width and height in pixels.
    pub size: (u32, u32),
    /// The y range; none: the curves' range, padded.
    pub y_range: Option<(f64, f64)>,
    /// Where the legend goes.
    pub legend: SeriesLabelPosition,
}

/// Lines with a legend (lower right).
pub fn line_plot(frame: &LinePlot, curves: &[Curve]) -> String {
    let all = || curves.iter().flat_map(|c| c.points.iter());
    let lo = |v: &mut dyn Iterator<Item = f64>| v.fold(f64::INFINITY, f64::min);
    let hi = |v: &mut dyn Iterator<Item = f64>| v.fold(f64::NEG_INFINITY, f64::max);
    let (x0, x1) = (lo(&mut all().map(|p| p.0)), hi(&mut all().map(|p| p.0)));
    let (x0, x1) = if x0.is_finite() && x1 > x0 {
        (x0, x1)
    } else {
        (0.0, 1.0)
    };
    let (y0, y1) = frame
        .y_range
        .unwrap_or_else(|| pad(lo(&mut all().map(|p| p.1)), hi(&mut all().map(|p| p.1))));
    let small = frame.size.1 < 320;
    svg(frame.size, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(frame.caption, ("sans-serif", if small { 14 } else { 18 }))
            .margin(10)
            .x_label_area_size(if small { 32 } else { 40 })
            .y_label_area_size(if small { 44 } else { 50 })
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(frame.x_desc)
            .y_desc(frame.y_desc)
            .draw()
            .map_err(|e| e.to_string())?;
        for c in curves {
            let style = colour(c.colour).stroke_width(2);
            let legend =
                move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 16, y)], style);
            if c.dashed {
                chart
                    .draw_series(DashedLineSeries::new(c.points.iter().copied(), 5, 4, style))
                    .map_err(|e| e.to_string())?
                    .label(c.name.clone())
                    .legend(legend);
            } else {
                chart
                    .draw_series(LineSeries::new(c.points.iter().copied(), style))
                    .map_err(|e| e.to_string())?
                    .label(c.name.clone())
                    .legend(legend);
            }
        }
        if !curves.is_empty() {
            chart
                .configure_series_labels()
                .position(frame.legend.clone())
                .label_font(("sans-serif", if small { 11 } else { 14 }))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.3))
                .draw()
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}
