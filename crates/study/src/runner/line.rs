//! The result line of one item: what the study knows of it (model, method, image, window,
//! the HR patch's energy and texture) and what its run's files say (report.json, the mass
//! curve, PSNR/SSIM).

use super::{now, readback, Runner};
use crate::grid::{Item, RunUnit};
use crate::results::{ResultLine, Status};
use crate::windows::gradient_energy;

impl Runner<'_> {
    /// The result line of `item`: `Ok((dir, run_dir))` read back from the run's files, or
    /// failed with the reason.
    pub(crate) fn line(
        &self,
        unit: &RunUnit,
        item: &Item,
        outcome: std::result::Result<(String, String), String>,
        seconds: f64,
        run_seconds: f64,
    ) -> ResultLine {
        let c = &self.study.config;
        let model = &c.models[unit.model];
        let planned = &self.plan.models[unit.model];
        let method = &c.methods[unit.method];
        let image = &self.plan.images[unit.image];
        let decoded = image.decoded.as_ref().ok();
        let window = item.window.clone();
        let patch = |f: &dyn Fn(&image::RgbImage, &crate::windows::StudyWindow) -> f64| match (
            decoded, &window,
        ) {
            (Some(d), Some(w))
                if w.x + w.size <= d.reference.width() && w.y + w.size <= d.reference.height() =>
            {
                Some(f(&d.reference, w))
            }
            _ => None,
        };
        let hr_energy = patch(&|img, w| gradient_energy(img, w.x, w.y, w.size));
        let texture =
            patch(&|img, w| crate::texture::dominant_frequency_share(img, w.x, w.y, w.size));
        let mut line = ResultLine {
            key: item.key.clone(),
            order: item.order,
            status: Status::Failed,
            reason: None,
            model: model.label(),
            model_path: planned
                .file
                .as_ref()
                .ok()
                .and_then(|f| f.as_ref())
                .map(|p| p.display().to_string()),
            model_sha256: planned.sha256.clone(),
            backend: model.backend.clone(),
            model_options: srlens_host::run::toml_to_json(&model.options),
            method: method.label().to_string(),
            method_name: method.name.clone(),
            method_options: srlens_host::run::toml_to_json(&method.options),
            image: image.name.clone(),
            image_path: image.path.display().to_string(),
            image_sha256: image.sha256.clone(),
            window,
            hr_energy,
            texture,
            psnr: None,
            ssim: None,
            mass_curve: Vec::new(),
            dir: None,
            run_dir: None,
            report: None,
            sanity: Vec::new(),
            seconds,
            run_seconds,
            finished: now(),
        };
        let (dir, run_dir) = match outcome {
            Ok(d) => d,
            Err(why) => {
                line.reason = Some(why);
                return line;
            }
        };
        let abs = self.out.join(&dir);
        let read = readback::report(&abs).and_then(|report| {
            let w = line.window.as_ref().expect("a window");
            let centre = srlens_report::window_centre(
                w.x as usize,
                w.y as usize,
                w.size as usize,
                c.scale as usize,
            );
            Ok((report, readback::mass_curve(&abs, centre)?))
        });
        match read {
            Ok((report, curve)) => {
                line.status = Status::Ok;
                line.report = Some(report);
                line.mass_curve = curve;
                if let Some(d) = decoded.filter(|d| d.is_hr) {
                    if let Ok((p, s)) =
                        readback::scores(&self.out.join(&run_dir), &d.reference, c.scale)
                    {
                        line.psnr = Some(p);
                        line.ssim = Some(s);
                    }
                }
                line.dir = Some(dir);
                line.run_dir = Some(run_dir);
            }
            Err(why) => line.reason = Some(why),
        }
        line
    }
}
