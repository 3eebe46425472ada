//! [`AttributionMethod`]: a method in plain Rust, wrapped into the ABI by [`method_box`].

use serde::de::DeserializeOwned;
use srlens_core::{
    abi_stable::{
        sabi_trait::TD_Opaque,
        std_types::{ROption, RVec},
    },
    Attribution, Attribution64, JobRef, Method, MethodBox, Method_TO, PluginError, PluginResult,
};

use super::{checks, Job};
use crate::{guard, parse_options};

/// An attribution method. The kit parses [`Self::Options`] from the job's JSON (errors name
/// the key), runs everything inside the panic guard, and checks the result: one finite
/// `C x H x W` map per objective.
pub trait AttributionMethod: Send + Sync + 'static {
    /// The method's options (use `#[serde(deny_unknown_fields)]` and serde defaults).
    type Options: DeserializeOwned;

    /// Checks parsed options beyond what serde checks, without calling the model; also
    /// checks the methods and paths the method would call (`job.check_path`...).
    fn check(&self, options: &Self::Options, job: &Job<'_>) -> Result<(), PluginError> {
        let _ = (options, job);
        Ok(())
    }

    /// Computes one attribution per objective of `job`, in order.
    fn attribute(
        &self,
        options: &Self::Options,
        job: &Job<'_>,
    ) -> Result<Vec<Attribution>, PluginError>;

    /// [`attribute`](Self::attribute) in float64 throughout (a model loaded with
    /// `precision = "f64"`; start from [`Job::image_f64`]); the default answers that the
    /// method computes in float32 only. Write the method once over
    /// [`Real`](crate::Real) to have both.
    fn attribute_f64(
        &self,
        options: &Self::Options,
        job: &Job<'_>,
    ) -> Result<Vec<Attribution64>, PluginError> {
        let _ = options;
        Err(PluginError::float64_unsupported(job.what()))
    }

    /// How far, in pixels, the map at a pixel depends on the image beyond what the model's
    /// gradient sees (see [`Method::image_reach`]): `Some(r)` lets the host run the method
    /// on the windows' receptive-field box plus `r` only. The default, `None`, is always
    /// right: the whole image.
    fn image_reach(&self, options: &Self::Options) -> Option<u32> {
        let _ = options;
        None
    }
}

/// An [`AttributionMethod`] behind the ABI, with its name for messages.
struct KitMethod<M> {
    what: String,
    method: M,
}

impl<M: AttributionMethod> KitMethod<M> {
    fn parsed(&self, job: &Job<'_>) -> Result<M::Options, PluginError> {
        let options: M::Options = parse_options(&self.what, job.options())?;
        self.method.check(&options, job)?;
        Ok(options)
    }
}

impl<M: AttributionMethod> Method for KitMethod<M> {
    fn check(&self, job: JobRef<'_>) -> PluginResult<()> {
        guard(|| self.parsed(&Job::new(job, &self.what)).map(drop))
    }

    fn attribute(&self, job: JobRef<'_>) -> PluginResult<RVec<Attribution>> {
        guard(|| {
            let job = Job::new(job, &self.what);
            let options = self.parsed(&job)?;
            let out = self.method.attribute(&options, &job)?;
            checks::attributions::<f32>(&self.what, job.image(), job.objective_count(), &out)?;
            Ok(RVec::from(out))
        })
    }

    fn attribute_f64(&self, job: JobRef<'_>) -> PluginResult<RVec<Attribution64>> {
        guard(|| {
            let job = Job::new(job, &self.what);
            let options = self.parsed(&job)?;
            let out = self.method.attribute_f64(&options, &job)?;
            checks::attributions::<f64>(&self.what, job.image(), job.objective_count(), &out)?;
            Ok(RVec::from(out))
        })
    }

    fn image_reach(&self, job: JobRef<'_>) -> PluginResult<ROption<u32>> {
        guard(|| {
            let options: M::Options =
                parse_options(&self.what, Job::new(job, &self.what).options())?;
            Ok(self.method.image_reach(&options).into())
        })
    }
}

/// The ABI object of the method `name` (e.g. `"lam"`).
pub fn method_box(name: &str, method: impl AttributionMethod) -> MethodBox {
    Method_TO::from_value(
        KitMethod {
            what: format!("method `{name}`"),
            method,
        },
        TD_Opaque,
    )
}
