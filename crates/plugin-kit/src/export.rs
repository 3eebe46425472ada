//! The [`export_plugin!`] macro.

/// Declares a plugin's root module.
///
/// The plugin crate must depend on `abi_stable` itself (abi_stable's `export_root_module`
/// names `::abi_stable`): `abi_stable = { workspace = true }`.
///
/// ```text
/// srlens_plugin_kit::export_plugin! {
///     name: "lam",
///     backends: [],
///     methods: [("lam", "Local Attribution Map: progressive-blur path IG", || Ok(Lam))],
///     paths: [("blur", "LAM's progressive blur path", || Ok(BlurPath))],
/// }
/// ```
///
/// Each constructor is a closure returning `Result<impl Trait, PluginError>`; it runs inside
/// [`guard`](crate::guard), and so does every trait method the plugin implements with
/// [`guard`](crate::guard) in its body.
#[macro_export]
macro_rules! export_plugin {
    (
        name: $name:expr,
        backends: [$(($bname:expr, $bdesc:expr, $bnew:expr)),* $(,)?],
        methods: [$(($mname:expr, $mdesc:expr, $mnew:expr)),* $(,)?],
        paths: [$(($pname:expr, $pdesc:expr, $pnew:expr)),* $(,)?] $(,)?
    ) => {
        mod __srlens_plugin_export {
            #[allow(unused_imports)]
            use super::*;
            use $crate::srlens_core::abi_stable::{
                export_root_module, prefix_type::PrefixTypeTrait,
                std_types::{RBox, RStr, RString, RVec},
                sabi_trait::TD_Opaque,
            };
            use $crate::srlens_core::*;

            extern "C" fn name() -> RString { RString::from($name) }
            extern "C" fn version() -> RString { RString::from(env!("CARGO_PKG_VERSION")) }
            extern "C" fn components() -> RVec<ComponentInfo> {
                let mut v = RVec::new();
                $(v.push(ComponentInfo { kind: ComponentKind::Backend, name: $bname.into(), description: $bdesc.into() });)*
                $(v.push(ComponentInfo { kind: ComponentKind::Method, name: $mname.into(), description: $mdesc.into() });)*
                $(v.push(ComponentInfo { kind: ComponentKind::Path, name: $pname.into(), description: $pdesc.into() });)*
                v
            }
            #[allow(unreachable_code, unused_variables)]
            extern "C" fn new_backend(which: RStr<'_>) -> PluginResult<BackendBox> {
                $crate::guard(|| {
                    $(if which.as_str() == $bname {
                        return ($bnew)().map(|b| Backend_TO::from_value(b, TD_Opaque));
                    })*
                    Err($crate::invalid_config(format!("plugin `{}` has no backend `{}`", $name, which)))
                })
            }
            #[allow(unreachable_code, unused_variables)]
            extern "C" fn new_method(which: RStr<'_>) -> PluginResult<MethodBox> {
                $crate::guard(|| {
                    $(if which.as_str() == $mname {
                        return ($mnew)().map(|m| Method_TO::from_value(m, TD_Opaque));
                    })*
                    Err($crate::invalid_config(format!("plugin `{}` has no method `{}`", $name, which)))
                })
            }
            #[allow(unreachable_code, unused_variables)]
            extern "C" fn new_path(which: RStr<'_>) -> PluginResult<PathBox> {
                $crate::guard(|| {
                    $(if which.as_str() == $pname {
                        return ($pnew)().map(|p| PathFunction_TO::from_value(p, TD_Opaque));
                    })*
                    Err($crate::invalid_config(format!("plugin `{}` has no path `{}`", $name, which)))
                })
            }

            #[export_root_module]
            fn root_module() -> PluginRef {
                PluginModule { name, version, components, new_backend, new_method, new_path }
                    .leak_into_prefix()
            }
        }
    };
}
