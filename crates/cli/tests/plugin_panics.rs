//! A plugin written only with the kit's plain-Rust traits, panicking on purpose in each kind
//! of component (backend load, model forward and gradient, method, path): every panic is an
//! error naming the plugin, with the panic's message, exit 1 and no abort.

mod common;

use std::path::Path;

fn panicky_plugin(dir: &Path) {
    common::plugins_folder(dir, &["srlens_fixture_panic"]);
}

fn run_err(dir: &Path, config: &str) -> String {
    std::fs::write(dir.join("run.toml"), config).unwrap();
    let o = common::srlens(
        dir,
        &["run", "run.toml", "--quiet", "--plugin-dir", "plugins"],
    );
    let err = common::stderr_of(&o, dir);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        !err.contains("panicked at 'main'") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    err
}

fn config(model: &str, methods: &str) -> String {
    format!(
        "out = \"out\"\n{model}\n[image]\npath = \"lr.png\"\nmode = \"lr\"\n\n\
         [window]\nx = 2\ny = 2\nsize = 6\n\n{methods}"
    )
}

const EXPLODING: &str = "[model]\nbackend = \"explode\"\noptions = { panic_in = \"PLACE\" }\n";
const LAM: &str = "[[method]]\nname = \"lam\"\nsteps = 4\n";

#[test]
fn a_panic_in_each_kind_of_component_is_an_error_naming_the_plugin() {
    let dir = common::workspace();
    panicky_plugin(dir.path());
    let cases = [
        (
            config(&EXPLODING.replace("PLACE", "load"), LAM),
            "failed loading model `explode`: panicked at",
            "the fixture backend exploded while loading",
        ),
        (
            config(&EXPLODING.replace("PLACE", "forward"), LAM),
            "failed running model `exploding`: panicked at",
            "the fixture model exploded in its forward pass",
        ),
        (
            config(&EXPLODING.replace("PLACE", "vjp"), LAM),
            "panicked at",
            "the fixture model exploded in its gradient pass",
        ),
        (
            config(
                "[model]\nbackend = \"candle\"\npath = \"tiny.onnx\"\n",
                "[[method]]\nname = \"explode\"\n",
            ),
            "failed running method `explode`: panicked at",
            "the fixture method exploded",
        ),
        (
            config(
                "[model]\nbackend = \"candle\"\npath = \"tiny.onnx\"\n",
                "[[method]]\nname = \"lam\"\npath = \"explode\"\nsteps = 3\n",
            ),
            "failed sampling path `explode`: panicked at",
            "the fixture path exploded",
        ),
    ];
    for (config, doing, message) in cases {
        let err = run_err(dir.path(), &config);
        assert!(err.contains("plugin `panicky`"), "{err}");
        assert!(err.contains(doing), "{doing}: {err}");
        assert!(err.contains(message), "{message}: {err}");
    }
}
