//! `summary.csv`: one row per map, written by the `csv` crate (RFC 4180 quoting).

use super::record::ReportSummary;

/// The columns of [`summary_csv`], in order.
pub const CSV_COLUMNS: [&str; 28] = [
    "label",
    "method",
    "model",
    "backend",
    "image",
    "scale",
    "window_x0",
    "window_y0",
    "window_size",
    "objective",
    "di",
    "gini",
    "pixels_50",
    "pixels_95",
    "radius_50",
    "radius_95",
    "objective_input",
    "objective_baseline",
    "attribution_sum",
    "completeness_gap",
    "completeness_gap_rel",
    "deletion_area",
    "insertion_area",
    "random_deletion_area",
    "random_insertion_area",
    "seconds",
    "params",
    "precision",
];

/// One row per entry ([`CSV_COLUMNS`]): labels, figures, objectives, gaps, seconds,
/// parameters (as JSON) and precision. Unknown values are empty cells, and so are `di` and `gini` of a
/// [`degenerate`](crate::MapFigures::degenerate) map (DI undefined). Lines end with `\n`.
pub fn summary_csv(summary: &ReportSummary) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    // Writing to a Vec cannot fail, and every cell is UTF-8.
    const OK: &str = "CSV into memory";
    w.write_record(CSV_COLUMNS).expect(OK);
    for e in &summary.entries {
        let f = &e.figures;
        let params = serde_json::to_string(&e.params).unwrap_or_default();
        let fa = e.faithfulness.as_ref();
        let area = |f: fn(&crate::Faithfulness) -> f64| opt(fa.map(f));
        let record: [String; 28] = [
            e.label.clone(),
            e.method.clone(),
            e.model.clone(),
            e.backend.clone(),
            e.image.clone(),
            e.scale.to_string(),
            e.window.x0.to_string(),
            e.window.y0.to_string(),
            e.window.size.to_string(),
            e.objective.clone(),
            opt(f.di_defined()),
            opt(f.gini_defined()),
            f.pixels_50.to_string(),
            f.pixels_95.to_string(),
            f.radius_50.to_string(),
            f.radius_95.to_string(),
            opt(e.objective_input),
            opt(e.objective_baseline),
            opt(e.attribution_sum),
            opt(e.completeness_gap),
            opt(e.completeness_gap_rel),
            area(|f| f.deletion_area),
            area(|f| f.insertion_area),
            area(|f| f.random_deletion_area),
            area(|f| f.random_insertion_area),
            e.seconds.to_string(),
            params,
            e.provenance.precision.clone(),
        ];
        w.write_record(&record).expect(OK);
    }
    String::from_utf8(w.into_inner().expect(OK)).expect(OK)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{curves, entry, summary};
    use super::*;

    #[test]
    fn csv_has_one_quoted_row_per_entry() {
        let mut odd = entry("c", None);
        odd.model = "say \"hi\"\nthere".into();
        odd.faithfulness = Some(curves());
        let mut first = entry("a,b", Some(0.2));
        first.provenance.precision = "float64".into();
        let csv_text = summary_csv(&summary(vec![first, odd]));
        // Read back with the csv crate: the quoting round-trips.
        let mut r = csv::Reader::from_reader(csv_text.as_bytes());
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), CSV_COLUMNS);
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][0], "a,b");
        assert_eq!(&rows[1][2], "say \"hi\"\nthere");
        assert_eq!(&rows[0][26], "{\"steps\":50}");
        let areas: Vec<&str> = (21..25).map(|i| &rows[1][i]).collect();
        assert_eq!(areas, ["1", "1.5", "1.5", "1"]);
        assert!((21..25).all(|i| rows[0][i].is_empty()));
        // The bytes as before the csv crate: RFC 4180 quoting only where needed.
        let first = csv_text.lines().nth(1).unwrap();
        assert!(first.starts_with("\"a,b\",lam,rdn-slim-x4,candle,fixture.png,4,110,150,16,"));
        assert!(first.contains(",12.5,0.875,10,90,2.5,7.25,10,4,6.5,0.5,0.2,,,,,1.25,"));
        assert!(first.ends_with("\"{\"\"steps\"\":50}\",float64"));
        assert!(csv_text.contains(",0.5,,1,1.5,1.5,1,1.25,"));
        assert!(csv_text.ends_with('\n') && !csv_text.contains('\r'));
    }

    #[test]
    fn degenerate_map_has_no_di_in_the_csv() {
        let mut e = entry("z", None);
        e.figures.degenerate = true;
        e.figures.di = 100.0;
        let text = summary_csv(&summary(vec![e]));
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let row = r.records().next().unwrap().unwrap();
        assert_eq!((&row[10], &row[11]), ("", ""));
    }
}
