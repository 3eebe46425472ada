//! The objectives the host explains: LAM's gradient energy and the plain intensity in a window.

use abi_stable::std_types::RVec;
use srlens_core::{
    ErrorKind, Objective, ObjectiveValue, ObjectiveValue64, PluginError, PluginResult, Tensor,
    Tensor64,
};
use srlens_plugin_kit::Real;

pub use srlens_report::Window;

use crate::config::{ObjectiveKind, WindowConfig};

impl WindowConfig {
    /// The window as the objectives and the report see it.
    pub fn window(&self) -> Window {
        Window {
            x0: self.x as usize,
            y0: self.y as usize,
            size: self.size as usize,
        }
    }
}

/// An objective over a window of the SR output.
#[derive(Debug, Clone, Copy)]
pub struct WindowObjective {
    /// Which feature.
    pub kind: ObjectiveKind,
    /// The window, in SR pixels.
    pub window: Window,
}

impl WindowObjective {
    /// The objective as the ABI object jobs carry.
    pub fn boxed(self) -> srlens_core::ObjectiveBox {
        srlens_core::Objective_TO::from_value(self, abi_stable::sabi_trait::TD_Opaque)
    }
}

impl Objective for WindowObjective {
    fn value_and_grad(&self, sr: &Tensor) -> PluginResult<ObjectiveValue> {
        self.evaluate(sr).into()
    }

    fn value_and_grad_f64(&self, sr: &Tensor64) -> PluginResult<ObjectiveValue64> {
        self.evaluate_in::<f64>(sr)
            .map(|(values, grad)| ObjectiveValue64 {
                values: RVec::from(values),
                grad: Tensor64::new(sr.dims(), grad).expect("same shape as the SR batch"),
            })
            .into()
    }
}

impl WindowObjective {
    /// The value per batch item and `d sum / d sr`.
    pub fn evaluate(&self, sr: &Tensor) -> Result<ObjectiveValue, PluginError> {
        let (values, grad) = self.evaluate_in::<f32>(sr)?;
        Ok(ObjectiveValue {
            values: RVec::from(values),
            grad: Tensor::new(sr.dims(), grad.into_iter().map(|g| g as f32).collect())
                .expect("same shape as the SR batch"),
        })
    }

    /// The value per batch item and `d sum / d sr` (in float64) of an SR batch in `R`.
    fn evaluate_in<R: Real>(&self, sr: &R::Tensor) -> Result<(Vec<f64>, Vec<f64>), PluginError> {
        let d = R::dims(sr);
        if d.len() != 4 {
            return Err(PluginError::new(
                ErrorKind::InvalidInput,
                format!("the SR output must be N x C x H x W, got shape {d:?}"),
            ));
        }
        let (n, c, h, w) = (d[0], d[1], d[2], d[3]);
        let Window { x0, y0, size: s } = self.window;
        let mut values = vec![0f64; n];
        let y_ = R::data(sr);
        let mut grad = vec![0f64; y_.len()];
        for (b, value) in values.iter_mut().enumerate() {
            for ch in 0..c {
                let base = (b * c + ch) * h * w;
                match self.kind {
                    ObjectiveKind::Intensity => {
                        for i in y0..(y0 + s).min(h) {
                            for j in x0..(x0 + s).min(w) {
                                *value += y_[base + i * w + j].into();
                                grad[base + i * w + j] += 1.0;
                            }
                        }
                    }
                    ObjectiveKind::GradientEnergy => {
                        for i in y0..(y0 + s).min(h.saturating_sub(1)) {
                            for j in x0..(x0 + s).min(w.saturating_sub(1)) {
                                let at = base + i * w + j;
                                let v: f64 = y_[at].into();
                                let dv = v - y_[at + w].into();
                                let dh = v - y_[at + 1].into();
                                let g = (dv * dv + dh * dh).sqrt();
                                *value += g;
                                // The subgradient of sqrt at 0 is taken as 0 (spec): never NaN.
                                if g > 0.0 {
                                    grad[at] += (dv + dh) / g;
                                    grad[at + w] -= dv / g;
                                    grad[at + 1] -= dh / g;
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok((values, grad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sr() -> Tensor {
        let (n, c, h, w) = (2, 3, 9, 8);
        let data = (0..n * c * h * w)
            .map(|i| ((i * 7919 % 113) as f32) / 113.0)
            .collect();
        Tensor::new(vec![n, c, h, w], data).unwrap()
    }

    fn check_against_central_differences(kind: ObjectiveKind) {
        let o = WindowObjective {
            kind,
            window: Window {
                x0: 2,
                y0: 3,
                size: 5,
            },
        };
        let x = sr();
        let g = o.evaluate(&x).unwrap().grad;
        let eps = 1e-3f32;
        for k in (0..x.len()).step_by(5) {
            let (mut p, mut m) = (x.clone(), x.clone());
            p.data[k] += eps;
            m.data[k] -= eps;
            let fp: f64 = o.evaluate(&p).unwrap().values.iter().sum();
            let fm: f64 = o.evaluate(&m).unwrap().values.iter().sum();
            let fd = (fp - fm) / (2.0 * eps as f64);
            assert!(
                (fd - g.data[k] as f64).abs() < 2e-3,
                "{kind:?} at {k}: fd {fd} vs {}",
                g.data[k]
            );
        }
    }

    #[test]
    fn gradient_energy_gradient_matches_central_differences() {
        check_against_central_differences(ObjectiveKind::GradientEnergy);
    }

    #[test]
    fn intensity_gradient_matches_central_differences() {
        check_against_central_differences(ObjectiveKind::Intensity);
    }

    #[test]
    fn flat_output_gives_zero_not_nan() {
        let o = WindowObjective {
            kind: ObjectiveKind::GradientEnergy,
            window: Window {
                x0: 0,
                y0: 0,
                size: 4,
            },
        };
        let flat = Tensor::new(vec![1, 1, 6, 6], vec![0.5; 36]).unwrap();
        let v = o.evaluate(&flat).unwrap();
        assert_eq!(v.values[0], 0.0);
        assert!(v.grad.data.iter().all(|g| *g == 0.0));
    }

    #[test]
    fn the_window_is_clipped_to_the_difference_range() {
        // A window reaching the last row and column: only (h-1) x (w-1) differences exist.
        let o = WindowObjective {
            kind: ObjectiveKind::GradientEnergy,
            window: Window {
                x0: 0,
                y0: 0,
                size: 3,
            },
        };
        let t = Tensor::new(vec![1, 1, 3, 3], vec![0., 1., 0., 1., 0., 1., 0., 1., 0.]).unwrap();
        // g at (0,0): dv=-1, dh=-1 -> sqrt2; (0,1): dv=1, dh=1 -> sqrt2;
        // (1,0): dv=1, dh=1 -> sqrt2; (1,1): dv=-1, dh=-1 -> sqrt2.
        let v = o.evaluate(&t).unwrap();
        assert!((v.values[0] - 4.0 * 2f64.sqrt()).abs() < 1e-12);
    }
}
