//! Converts the twelve UpscalerJS ESRGAN models (`cargo xtask setup` fetches them into
//! `.cache/npm/<package>/package/`) and checks them against their own `model.json`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use srlens_onnx::{read_file, tfjs, write_file, Attribute, Dim, TensorValues};

/// `(package, scale, parameters)`; the counts are the sums of the manifests' weight sizes.
const MODELS: [(&str, u32, u64); 12] = [
    ("esrgan-slim", 2, 222_075),
    ("esrgan-slim", 3, 226_815),
    ("esrgan-slim", 4, 233_451),
    ("esrgan-slim", 8, 278_955),
    ("esrgan-medium", 2, 693_235),
    ("esrgan-medium", 3, 697_975),
    ("esrgan-medium", 4, 704_611),
    ("esrgan-medium", 8, 750_115),
    ("esrgan-thick", 2, 7_239_968),
    ("esrgan-thick", 3, 7_248_623),
    ("esrgan-thick", 4, 7_260_740),
    ("esrgan-thick", 8, 7_343_828),
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The model's `model.json`; fails (never skips) when the packages are missing.
fn model_json(package: &str, scale: u32) -> PathBuf {
    let path = repo_root()
        .join(".cache/npm")
        .join(package)
        .join("package/models")
        .join(format!("x{scale}"))
        .join("model.json");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask setup` first (it fetches the @upscalerjs/esrgan-* npm \
         packages into .cache/npm)",
        path.display()
    );
    path
}

/// A manifest weight: name, shape, offset in floats.
type WeightSpec = (String, Vec<usize>, usize);

/// The manifest's weights and the concatenated shard values,
/// read straight from the files (independent of the converter).
fn manifest(path: &Path) -> (Vec<WeightSpec>, Vec<f32>) {
    let json: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut specs = Vec::new();
    let mut values = Vec::new();
    for group in json["weightsManifest"].as_array().unwrap() {
        let base = values.len();
        for p in group["paths"].as_array().unwrap() {
            let bytes = std::fs::read(path.parent().unwrap().join(p.as_str().unwrap())).unwrap();
            values.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
            );
        }
        let mut offset = base;
        for w in group["weights"].as_array().unwrap() {
            let shape: Vec<usize> = w["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            specs.push((
                w["name"].as_str().unwrap().to_string(),
                shape.clone(),
                offset,
            ));
            offset += shape.iter().product::<usize>();
        }
    }
    (specs, values)
}

#[test]
fn all_twelve_models_convert_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for (package, scale, params) in MODELS {
        let path = model_json(package, scale);
        let g = tfjs::convert(&path).unwrap_or_else(|e| panic!("{package} x{scale}: {e}"));
        let label = format!("{package} x{scale}");

        // Parameters: the converter's initializers against the manifest read here.
        let (specs, values) = manifest(&path);
        let manifest_total: usize = specs
            .iter()
            .map(|(_, s, _)| s.iter().product::<usize>())
            .sum();
        assert_eq!(manifest_total as u64, params, "{label}: manifest");
        assert_eq!(
            values.len(),
            manifest_total,
            "{label}: shards hold exactly the manifest"
        );
        assert_eq!(g.parameter_count(), params, "{label}: parameters");
        assert_eq!(
            g.initializers.len(),
            specs.len(),
            "{label}: one initializer per weight"
        );

        // Every kernel is the TF kernel [kh, kw, in, out] read as [out, in, kh, kw].
        for (name, shape, offset) in &specs {
            let t = &g.initializers[name];
            let TensorValues::F32(v) = &t.values else {
                panic!("{name}: f32 expected")
            };
            let src = &values[*offset..*offset + v.len()];
            if let [kh, kw, ci, co] = shape[..] {
                assert_eq!(
                    t.dims,
                    vec![co as i64, ci as i64, kh as i64, kw as i64],
                    "{name}"
                );
                for (y, x, i, o) in [
                    (0, 0, 0, 0),
                    (kh - 1, 0, ci - 1, 0),
                    (kh / 2, kw - 1, ci / 2, co - 1),
                ] {
                    assert_eq!(
                        v[((o * ci + i) * kh + y) * kw + x],
                        src[((y * kw + x) * ci + i) * co + o],
                        "{label}: {name}[{o},{i},{y},{x}]"
                    );
                }
            } else {
                assert_eq!(v.as_slice(), src, "{label}: {name}");
            }
        }

        // Interface and metadata.
        assert_eq!(g.opset, 17);
        assert_eq!(g.inputs.len(), 1);
        assert_eq!(g.inputs[0].name, "input");
        assert_eq!(
            g.inputs[0].shape,
            vec![
                Dim::Symbolic("N".into()),
                Dim::Fixed(3),
                Dim::Symbolic("H".into()),
                Dim::Symbolic("W".into())
            ]
        );
        assert_eq!(g.outputs.len(), 1);
        assert_eq!(g.outputs[0].name, "output");
        assert_eq!(g.outputs[0].shape[1], Dim::Fixed(3));
        let md = |k: &str| g.metadata.get(k).map(String::as_str);
        let scale_text = scale.to_string();
        assert_eq!(md("srlens.scale"), Some(scale_text.as_str()), "{label}");
        let range = if package == "esrgan-thick" {
            "0,1"
        } else {
            "0,255"
        };
        assert_eq!(md("srlens.input_range"), Some(range), "{label}");
        assert_eq!(md("srlens.license"), Some("MIT"), "{label}");
        let source = format!("@upscalerjs/{package}@1.0.0");
        assert_eq!(md("srlens.source"), Some(source.as_str()), "{label}");

        // The upsampling step multiplies H and W by the scale.
        let upsampling: Vec<_> = g
            .nodes
            .iter()
            .filter(|n| n.op_type == "Resize" || n.op_type == "DepthToSpace")
            .collect();
        assert_eq!(upsampling.len(), 1, "{label}");
        let up = upsampling[0];
        if package == "esrgan-thick" {
            assert_eq!(up.op_type, "DepthToSpace");
            assert_eq!(up.int("blocksize", 0), scale as i64);
            assert_eq!(up.string("mode"), Some("DCR"));
        } else {
            assert_eq!(up.op_type, "Resize");
            assert_eq!(up.string("mode"), Some("nearest"));
            assert_eq!(
                up.string("coordinate_transformation_mode"),
                Some("asymmetric")
            );
            assert_eq!(up.string("nearest_mode"), Some("floor"));
            let scales = g
                .nodes
                .iter()
                .find(|n| n.outputs[0] == up.inputs[2])
                .unwrap();
            let s = scale as f32;
            assert_eq!(
                scales.attributes["value"],
                Attribute::Tensor(srlens_onnx::TensorData::f32(vec![4], vec![1.0, 1.0, s, s]))
            );
        }

        // Round trip through a file.
        let file = dir.path().join(format!("{package}-x{scale}.onnx"));
        write_file(&g, &file).unwrap();
        assert_eq!(read_file(&file).unwrap(), g, "{label}: round trip");
    }
}

#[test]
fn thick_models_scale_residuals_by_beta() {
    let g = tfjs::convert(&model_json("esrgan-thick", 4)).unwrap();
    let muls: Vec<_> = g.nodes.iter().filter(|n| n.op_type == "Mul").collect();
    assert_eq!(muls.len(), 40, "one Mul per MultiplyBeta layer");
    for m in muls {
        let c = g
            .nodes
            .iter()
            .find(|n| n.outputs[0] == m.inputs[1])
            .unwrap();
        assert_eq!(c.op_type, "Constant");
        assert_eq!(
            c.attributes["value"],
            Attribute::Tensor(srlens_onnx::TensorData::f32(vec![], vec![0.2]))
        );
    }
    assert_eq!(g.metadata["srlens.architecture"], "rrdn");
}
