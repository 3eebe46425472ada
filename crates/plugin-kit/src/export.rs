//! The [`export_plugin!`] macro.

/// Declares a plugin's root module from components written with the plain-Rust traits of
/// [`component`](crate::component).
///
/// The plugin crate must depend on `abi_stable` itself (abi_stable's `export_root_module`
/// names `::abi_stable`).
///
/// ```text
/// srlens_plugin_kit::export_plugin! {
///     name: "lam",
///     backends: [("fsrcnn", "a built-in FSRCNN", || Ok(MyBackend))],   // impl SrBackend
///     methods: [("lam", "Local Attribution Map", || Ok(Lam))],         // impl AttributionMethod
///     paths: [("blur", "LAM's progressive blur path", || Ok(BlurPath))], // impl PathFn
/// }
/// ```
///
/// Each constructor is a closure returning `Result<T, PluginError>`. Constructors, and every
/// call the host makes into the components, run inside [`guard`](crate::guard): a panic
/// becomes an error naming the plugin, never an abort.
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
                std_types::{RStr, RString, RVec},
            };
            use $crate::srlens_core::*;

            fn info(kind: ComponentKind, name: &str, description: &str, needs_model_file: bool) -> ComponentInfo {
                ComponentInfo {
                    kind: ComponentKindAbi::new(kind),
                    name: name.into(),
                    description: description.into(),
                    needs_model_file,
                }
            }

            extern "C" fn name() -> RString { RString::from($name) }
            extern "C" fn version() -> RString { RString::from(env!("CARGO_PKG_VERSION")) }
            extern "C" fn components() -> RVec<ComponentInfo> {
                let mut v = RVec::new();
                $(v.push(info(ComponentKind::Backend, $bname, $bdesc, $crate::component::needs_model_file(&$bnew)));)*
                $(v.push(info(ComponentKind::Method, $mname, $mdesc, false));)*
                $(v.push(info(ComponentKind::Path, $pname, $pdesc, false));)*
                v
            }
            #[allow(unreachable_code, unused_variables)]
            extern "C" fn new_backend(which: RStr<'_>) -> PluginResult<BackendBox> {
                $crate::guard(|| {
                    $(if which.as_str() == $bname {
                        return ($bnew)().map(|b| $crate::component::backend_box($bname, b));
                    })*
                    Err($crate::invalid_config(format!("plugin `{}` has no backend `{}`", $name, which)))
                })
            }
            #[allow(unreachable_code, unused_variables)]
            extern "C" fn new_method(which: RStr<'_>) -> PluginResult<MethodBox> {
                $crate::guard(|| {
                    $(if which.as_str() == $mname {
                        return ($mnew)().map(|m| $crate::component::method_box($mname, m));
                    })*
                    Err($crate::invalid_config(format!("plugin `{}` has no method `{}`", $name, which)))
                })
            }
            #[allow(unreachable_code, unused_variables)]
            extern "C" fn new_path(which: RStr<'_>) -> PluginResult<PathBox> {
                $crate::guard(|| {
                    $(if which.as_str() == $pname {
                        return ($pnew)().map(|p| $crate::component::path_box($pname, p));
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
