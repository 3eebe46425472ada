//! Conversion between ONNX `ModelProto` messages and [`Graph`].

use std::collections::{BTreeMap, BTreeSet};

use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_shape_proto::{dimension, Dimension};
use onnx_protobuf::type_proto::{self, Tensor as TensorTypeProto};
use onnx_protobuf::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

use crate::ir::{Attribute, Dim, ElemType, Graph, Node, ValueInfo};
use crate::tensor_pb;

/// The producer name written into files.
const PRODUCER: &str = "srlens";

/// Builds a [`Graph`] from a decoded model; the error text says what is wrong.
pub(crate) fn graph_from_model(model: &ModelProto) -> std::result::Result<Graph, String> {
    let Some(g) = model.graph.as_ref() else {
        return Err("the model has no graph".to_string());
    };
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .ok_or_else(|| "the model has no opset_import for the default ONNX domain".to_string())?;
    if !g.sparse_initializer.is_empty() {
        return Err("sparse initializers are not supported".to_string());
    }
    let mut initializers = BTreeMap::new();
    for t in &g.initializer {
        if t.name.is_empty() {
            return Err("an initializer has no name".to_string());
        }
        initializers.insert(t.name.clone(), tensor_pb::decode(t)?);
    }
    let inputs = g
        .input
        .iter()
        .filter(|v| !initializers.contains_key(&v.name))
        .map(value_info_from_proto)
        .collect();
    let outputs = g.output.iter().map(value_info_from_proto).collect();
    let nodes = g
        .node
        .iter()
        .map(node_from_proto)
        .collect::<std::result::Result<_, _>>()?;
    let metadata = model
        .metadata_props
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    Ok(Graph {
        name: g.name.clone(),
        opset,
        inputs,
        outputs,
        nodes,
        initializers,
        metadata,
    })
}

/// Builds a `ModelProto` from a [`Graph`].
pub(crate) fn model_from_graph(graph: &Graph) -> ModelProto {
    let mut g = GraphProto::new();
    g.name = graph.name.clone();
    g.node = graph.nodes.iter().map(node_to_proto).collect();
    g.initializer = graph
        .initializers
        .iter()
        .map(|(name, t)| tensor_pb::encode(name, t))
        .collect();
    g.input = graph.inputs.iter().map(value_info_to_proto).collect();
    g.output = graph.outputs.iter().map(value_info_to_proto).collect();

    let mut model = ModelProto::new();
    model.ir_version = ir_version_for(graph.opset);
    model.producer_name = PRODUCER.to_string();
    model.producer_version = env!("CARGO_PKG_VERSION").to_string();
    let mut default = OperatorSetIdProto::new();
    default.version = graph.opset;
    model.opset_import.push(default);
    let other_domains: BTreeSet<&str> = graph
        .nodes
        .iter()
        .map(|n| n.domain.as_str())
        .filter(|d| !d.is_empty() && *d != "ai.onnx")
        .collect();
    for domain in other_domains {
        let mut o = OperatorSetIdProto::new();
        o.domain = domain.to_string();
        o.version = 1;
        model.opset_import.push(o);
    }
    model.metadata_props = graph
        .metadata
        .iter()
        .map(|(k, v)| {
            let mut e = StringStringEntryProto::new();
            e.key = k.clone();
            e.value = v.clone();
            e
        })
        .collect();
    model.graph = Some(g).into();
    model
}

/// The lowest IR version that carries `opset` of the default domain.
fn ir_version_for(opset: i64) -> i64 {
    match opset {
        ..=6 => 3,
        7..=9 => 4,
        10 => 5,
        11 => 6,
        12..=14 => 7,
        15..=18 => 8,
        19..=20 => 9,
        21..=22 => 10,
        _ => 11,
    }
}

/// Reads a value's name, element type and shape (an unknown shape reads as no dimensions).
fn value_info_from_proto(v: &ValueInfoProto) -> ValueInfo {
    let elem_type = match v.type_.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) if t.elem_type != 0 => {
            ElemType::from_code(t.elem_type)
        }
        _ => ElemType::F32,
    };
    let shape = match v.type_.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => t
            .shape
            .as_ref()
            .map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(dimension::Value::DimValue(n)) => Dim::Fixed(*n),
                        Some(dimension::Value::DimParam(p)) => Dim::Symbolic(p.clone()),
                        _ => Dim::Symbolic(String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    ValueInfo {
        name: v.name.clone(),
        shape,
        elem_type,
    }
}

/// Writes a value as a tensor of its element type and shape.
fn value_info_to_proto(v: &ValueInfo) -> ValueInfoProto {
    let mut shape = TensorShapeProto::new();
    shape.dim = v
        .shape
        .iter()
        .map(|d| {
            let mut dim = Dimension::new();
            // An unnamed free dimension is written with no value at all (a dim_param of ""
            // could read as one shared name).
            dim.value = match d {
                Dim::Fixed(n) => Some(dimension::Value::DimValue(*n)),
                Dim::Symbolic(p) if p.is_empty() => None,
                Dim::Symbolic(p) => Some(dimension::Value::DimParam(p.clone())),
            };
            dim
        })
        .collect();
    let mut tensor = TensorTypeProto::new();
    tensor.elem_type = v.elem_type.code();
    tensor.shape = Some(shape).into();
    let mut ty = TypeProto::new();
    ty.value = Some(type_proto::Value::TensorType(tensor));
    let mut out = ValueInfoProto::new();
    out.name = v.name.clone();
    out.type_ = Some(ty).into();
    out
}

/// Reads a node and its attributes.
fn node_from_proto(n: &NodeProto) -> std::result::Result<Node, String> {
    let mut attributes = BTreeMap::new();
    for a in &n.attribute {
        let value = attribute_from_proto(a).map_err(|e| {
            format!(
                "node '{}' ({}), attribute '{}': {e}",
                n.name, n.op_type, a.name
            )
        })?;
        attributes.insert(a.name.clone(), value);
    }
    Ok(Node {
        name: n.name.clone(),
        op_type: n.op_type.clone(),
        domain: n.domain.clone(),
        inputs: n.input.clone(),
        outputs: n.output.clone(),
        attributes,
    })
}

/// Writes a node and its attributes.
fn node_to_proto(n: &Node) -> NodeProto {
    let mut p = NodeProto::new();
    p.name = n.name.clone();
    p.op_type = n.op_type.clone();
    p.domain = n.domain.clone();
    p.input = n.inputs.clone();
    p.output = n.outputs.clone();
    p.attribute = n
        .attributes
        .iter()
        .map(|(k, v)| attribute_to_proto(k, v))
        .collect();
    p
}

/// Reads one attribute value.
fn attribute_from_proto(a: &AttributeProto) -> std::result::Result<Attribute, String> {
    let utf8 = |b: &[u8]| {
        String::from_utf8(b.to_vec()).map_err(|_| "a string is not valid UTF-8".to_string())
    };
    let ty = a
        .type_
        .enum_value()
        .map_err(|v| format!("unknown attribute type {v}"))?;
    Ok(match ty {
        AttributeType::INT => Attribute::Int(a.i),
        AttributeType::INTS => Attribute::Ints(a.ints.clone()),
        AttributeType::FLOAT => Attribute::Float(a.f),
        AttributeType::FLOATS => Attribute::Floats(a.floats.clone()),
        AttributeType::STRING => Attribute::String(utf8(&a.s)?),
        AttributeType::STRINGS => Attribute::Strings(
            a.strings
                .iter()
                .map(|s| utf8(s))
                .collect::<Result<_, _>>()?,
        ),
        AttributeType::TENSOR => match a.t.as_ref() {
            Some(t) => Attribute::Tensor(tensor_pb::decode(t)?),
            None => return Err("a TENSOR attribute without a tensor".to_string()),
        },
        other => {
            return Err(format!(
                "attribute type {other:?} is not supported (INT, INTS, FLOAT, FLOATS, STRING, \
                 STRINGS, TENSOR are)"
            ))
        }
    })
}

/// Writes one attribute value.
fn attribute_to_proto(name: &str, value: &Attribute) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.to_string();
    let ty = match value {
        Attribute::Int(v) => {
            a.i = *v;
            AttributeType::INT
        }
        Attribute::Ints(v) => {
            a.ints = v.clone();
            AttributeType::INTS
        }
        Attribute::Float(v) => {
            a.f = *v;
            AttributeType::FLOAT
        }
        Attribute::Floats(v) => {
            a.floats = v.clone();
            AttributeType::FLOATS
        }
        Attribute::String(v) => {
            a.s = v.as_bytes().to_vec();
            AttributeType::STRING
        }
        Attribute::Strings(v) => {
            a.strings = v.iter().map(|s| s.as_bytes().to_vec()).collect();
            AttributeType::STRINGS
        }
        Attribute::Tensor(t) => {
            a.t = Some(tensor_pb::encode("", t)).into();
            AttributeType::TENSOR
        }
    };
    a.type_ = ty.into();
    a
}
