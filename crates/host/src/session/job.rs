//! The job the host hands a method: the session's model and objectives, one image, options.

use abi_stable::{
    sabi_trait::TD_Opaque,
    sabi_types::RRef,
    std_types::{RSlice, RStr},
};
use srlens_core::{
    Job, ModelBox, ObjectiveBox, ProgressRef, Progress_TO, RegistryRef, Registry_TO, Tensor,
};

use super::Session;

/// One method call's job.
pub struct HostJob<'s> {
    session: &'s Session<'s>,
    image: &'s Tensor,
    options: String,
}

impl<'s> HostJob<'s> {
    /// The job for `image` with `options` (JSON) in `session`.
    pub fn new(session: &'s Session<'s>, image: &'s Tensor, options: &str) -> Self {
        HostJob {
            session,
            image,
            options: options.to_string(),
        }
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
        self.session.batch_size
    }
    fn options(&self) -> RStr<'_> {
        RStr::from_str(&self.options)
    }
    fn config_dir(&self) -> RStr<'_> {
        RStr::from_str(&self.session.config_dir)
    }
}
