//! The root module every plugin exports.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    nonexhaustive_enum::NonExhaustiveFor,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RStr, RString, RVec},
    StableAbi,
};

use crate::{
    error::PluginResult,
    method::{MethodBox, PathBox},
    model::BackendBox,
};

/// What a plugin component is. Non-exhaustive across the ABI: a later srlens-core may add
/// kinds, which older hosts list as unknown and never call.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[sabi(kind(WithNonExhaustive(
    size = [u32; 2],
    traits(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)
)))]
#[non_exhaustive]
pub enum ComponentKind {
    /// A model backend.
    Backend,
    /// An attribution method.
    Method,
    /// A path function.
    Path,
}

impl ComponentKind {
    /// The lowercase name used in configs and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Backend => "backend",
            ComponentKind::Method => "method",
            ComponentKind::Path => "path",
        }
    }
}

/// A [`ComponentKind`] as it crosses the boundary: it may hold a kind this core does not know.
pub type ComponentKindAbi = NonExhaustiveFor<ComponentKind>;

/// One component a plugin provides.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ComponentInfo {
    /// Backend, method or path.
    pub kind: ComponentKindAbi,
    /// The name configs use.
    pub name: RString,
    /// One line saying what it does.
    pub description: RString,
    /// For a backend: whether `model.path` must name a file (false for built-in weights).
    pub needs_model_file: bool,
    /// Only in the test fixture `tests/fixtures/core-modified`: a layout change under a
    /// compatible version number, which hosts must refuse by name.
    #[cfg(srlens_layout_fixture)]
    pub fixture_extra: u32,
}

impl ComponentInfo {
    /// The kind, or `None` for a kind added by a later srlens-core.
    pub fn kind(&self) -> Option<ComponentKind> {
        self.kind.as_enum().ok().copied()
    }
}

/// The root module of a plugin library (a prefix type: later versions may add fields).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// The plugin's name.
    pub name: extern "C" fn() -> RString,
    /// The plugin's own version.
    pub version: extern "C" fn() -> RString,
    /// The components it provides.
    pub components: extern "C" fn() -> RVec<ComponentInfo>,
    /// Creates the backend `name`.
    pub new_backend: extern "C" fn(name: RStr<'_>) -> PluginResult<BackendBox>,
    /// Creates the method `name`.
    pub new_method: extern "C" fn(name: RStr<'_>) -> PluginResult<MethodBox>,
    /// Creates the path function `name`.
    #[sabi(last_prefix_field)]
    pub new_path: extern "C" fn(name: RStr<'_>) -> PluginResult<PathBox>,
}

impl RootModule for PluginRef {
    declare_root_module_statics! {PluginRef}
    const BASE_NAME: &'static str = "srlens_plugin";
    const NAME: &'static str = "srlens_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
