//! A study's report.html in headless Chromium (Debian's `chromium`, which `cargo xtask setup`
//! installs): every picture and plot of the page decodes (a script written into a copy of the
//! page records each image's natural size into the DOM, read back with `--dump-dom`), and a
//! screenshot of the page is taken.

mod common;

use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Writes into the page, once it has loaded, each image's index, natural size and state.
const CHECK: &str = "<script>window.addEventListener('load', () => {\
  const lines = [...document.images].map((im, i) => i + ' ' + im.naturalWidth + ' ' + \
  im.naturalHeight + ' ' + (im.complete ? 'complete' : 'pending'));\
  const pre = document.createElement('pre'); pre.id = 'srlens-check';\
  pre.textContent = 'images ' + document.images.length + '\\n' + lines.join('\\n');\
  document.body.appendChild(pre); });</script>";

fn chromium(args: &[&str]) -> std::process::Output {
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
            "--virtual-time-budget=10000",
        ])
        .args(args)
        .output()
        .expect("chromium runs")
}

fn study(dir: &Path) {
    let root = common::repo_root();
    let text = format!(
        "images = [\"{}\", \"{}\"]\ncrop = [100, 20, 64, 64]\n\n[windows]\nauto = 1\n\n\
         [[model]]\npath = \"{}\"\nlabel = \"slim\"\n\n[[model]]\npath = \"{}\"\nlabel = \"medium\"\n\n\
         [[method]]\nname = \"lam\"\nsteps = 3\n\n[[method]]\nname = \"gradient\"\n",
        root.join("data/images/chelsea.png").display(),
        root.join("data/images/brick.png").display(),
        root.join("zoo/esrgan-slim-x4.onnx").display(),
        root.join("zoo/esrgan-medium-x4.onnx").display(),
    );
    std::fs::write(dir.join("study.toml"), text).unwrap();
    let o = common::srlens(dir, &["study", "study.toml", "--quiet", "--out", "out"]);
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir));
}

#[test]
fn every_image_and_plot_of_a_study_report_decodes_in_headless_chromium() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: `cargo xtask setup` installs Debian's chromium"
    );
    let dir = tempfile::tempdir().unwrap();
    study(dir.path());
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    let tags = html.matches("<img ").count();
    // 5 plots; per image x window, 2 models x (SR zoom + 2 methods).
    assert_eq!(tags, 5 + 2 * 2 * 3, "img tags in the page");
    let check = dir.path().join("out/check.html");
    std::fs::write(&check, html.replace("</body>", &format!("{CHECK}</body>"))).unwrap();

    let o = chromium(&["--dump-dom", &format!("file://{}", check.display())]);
    let dom = String::from_utf8_lossy(&o.stdout);
    let report = dom
        .split("<pre id=\"srlens-check\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!(
                "the check did not run: {}\n{}",
                String::from_utf8_lossy(&o.stderr),
                &dom[..dom.len().min(2000)]
            )
        });
    let mut rows = report.lines();
    assert_eq!(
        rows.next(),
        Some(format!("images {tags}").as_str()),
        "{report}"
    );
    let mut plots = 0;
    for row in rows {
        let f: Vec<&str> = row.split(' ').collect();
        let (w, h): (u32, u32) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        assert!(
            w > 0 && h > 0 && f[3] == "complete",
            "image {} did not decode: {row}",
            f[0]
        );
        plots += usize::from((w, h) == (640, 400));
    }
    assert_eq!(plots, 5, "the five plots decode at their size: {report}");

    let shot = dir.path().join("report.png");
    let o = chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1400,2400",
        &format!("file://{}", dir.path().join("out/report.html").display()),
    ]);
    let png = image::open(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    assert_eq!((png.width(), png.height()), (1400, 2400));
    let rgb = png.to_rgb8();
    let distinct: std::collections::HashSet<[u8; 3]> = rgb.pixels().map(|p| p.0).collect();
    assert!(
        distinct.len() > 100,
        "the screenshot shows the maps and plots ({} colours)",
        distinct.len()
    );
}
