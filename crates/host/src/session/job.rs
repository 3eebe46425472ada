//! The job the host hands a method: the session's model and objectives, one image, options.

use abi_stable::{
    sabi_trait::TD_Opaque,
    sabi_types::RRef,
    std_types::{RSlice, RStr},
};
use srlens_core::{
    Job, ModelBox, ObjectiveBox, ProgressRef, Progress_TO, RegistryRef, Registry_TO, Tensor,
    Tensor64,
};

use super::Session;

/// One method call's job.
pub struct HostJob<'s> {
    session: &'s Session<'s>,
    image: &'s Tensor,
    /// The image in float64, for a float64 method (else `image` widened).
    image64: Option<&'s Tensor64>,
    options: String,
}

impl<'s> HostJob<'s> {
    /// The job for `image` with `options` (JSON) in `session`.
    pub fn new(session: &'s Session<'s>, image: &'s Tensor, options: &str) -> Self {
        HostJob {
            session,
            image,
            image64: None,
            options: options.to_string(),
        }
    }

    /// The same job with the image's float64 values (`image` is their `f32` rounding).
    pub fn with_f64(mut self, image64: &'s Tensor64) -> Self {
        self.image64 = Some(image64);
        self
    }

    /// The image, `f32`.
    pub fn image_f32(&self) -> &Tensor {
        self.image
    }
}

impl Job for HostJob<'_> {
    fn image(&self) -> &Tensor {
        self.image
    }
    fn model(&self) -> &ModelBox {
        self.session.model
    }
    fn objectives(&self) -> RSlice<'_, ObjectiveBox> {
        RSlice::from_slice(self.session.objectives())
    }
    fn registry(&self) -> RegistryRef<'_> {
        Registry_TO::from_ptr(RRef::new(self.session), TD_Opaque)
    }
    fn progress(&self) -> ProgressRef<'_> {
        Progress_TO::from_ptr(RRef::new(&self.session.progress), TD_Opaque)
    }
    fn batch_size(&self) -> u32 {
        self.session.batch_size()
    }
    fn options(&self) -> RStr<'_> {
        RStr::from_str(&self.options)
    }
    fn config_dir(&self) -> RStr<'_> {
        RStr::from_str(&self.session.config_dir)
    }
    fn image_f64(&self) -> Tensor64 {
        self.image64.cloned().unwrap_or_else(|| self.image.to_f64())
    }
}
