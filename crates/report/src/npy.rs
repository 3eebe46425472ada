//! Float32 and float64 `.npy` files (format version 1.0), written atomically and read back.

use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use std::path::Path;

/// An element type `.npy` files hold here.
pub trait NpyElement: Copy {
    /// The numpy dtype, e.g. `<f4`.
    const DESCR: &'static str;
    /// The size of one value in bytes.
    const SIZE: usize;
    /// Appends the little-endian bytes.
    fn push_le(self, out: &mut Vec<u8>);
    /// The value of `SIZE` little-endian bytes.
    fn from_le(bytes: &[u8]) -> Self;
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    const SIZE: usize = 4;
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn from_le(b: &[u8]) -> Self {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl NpyElement for f64 {
    const DESCR: &'static str = "<f8";
    const SIZE: usize = 8;
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn from_le(b: &[u8]) -> Self {
        f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }
}

/// Encodes `data` (row-major, shape `shape`) as a little-endian float32 or float64 `.npy`
/// v1.0 file.
pub fn encode_npy<T: NpyElement>(data: &[T], shape: &[usize]) -> Result<Vec<u8>> {
    let expected: usize = shape.iter().product();
    if data.len() != expected {
        return Err(Error::Shape {
            what: "npy data",
            len: data.len(),
            expected,
            dims: format!("{shape:?}"),
        });
    }
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {dims}, }}",
        T::DESCR
    );
    // magic (6) + version (2) + length (2) + header + '\n' padded to a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let hlen = u16::try_from(header.len())
        .map_err(|_| Error::Invalid(format!("npy header too long for shape {shape:?}")))?;
    let mut out = Vec::with_capacity(10 + header.len() + T::SIZE * data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&hlen.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in data {
        v.push_le(&mut out);
    }
    Ok(out)
}

/// Writes a float32 or float64 `.npy` file (e.g. the raw map, `C x H x W`) atomically.
pub fn write_npy_atomic<T: NpyElement>(path: &Path, data: &[T], shape: &[usize]) -> Result<()> {
    write_atomic(path, &encode_npy(data, shape)?)
}

/// Decodes a little-endian float32, C-order `.npy` file (versions 1.0-3.0): `(shape, data)`.
pub fn decode_npy(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>)> {
    decode_npy_as::<f32>(bytes)
}

/// [`decode_npy`] for a file of `T` (`<f4` or `<f8`).
pub fn decode_npy_as<T: NpyElement>(bytes: &[u8]) -> Result<(Vec<usize>, Vec<T>)> {
    let bad = |m: &str| Error::Npy(m.to_string());
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("missing magic string"));
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(Error::Npy(format!("unsupported version {v}"))),
    };
    let header = bytes
        .get(start..start + hlen)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("truncated header"))?;
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains(&format!("'descr':'{}'", T::DESCR)) {
        return Err(Error::Npy(format!(
            "dtype is not little-endian float{} ('{}')",
            8 * T::SIZE,
            T::DESCR
        )));
    }
    if !compact.contains("'fortran_order':False") {
        return Err(bad("Fortran order is not supported"));
    }
    let s = compact
        .split("'shape':(")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let shape = s
        .split(',')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<usize>().map_err(|_| bad("bad shape")))
        .collect::<Result<Vec<_>>>()?;
    let body = &bytes[start + hlen..];
    let n: usize = shape.iter().product();
    if body.len() != T::SIZE * n {
        return Err(Error::Npy(format!(
            "data has {} bytes, shape {shape:?} needs {}",
            body.len(),
            T::SIZE * n
        )));
    }
    let data = body.chunks_exact(T::SIZE).map(T::from_le).collect();
    Ok((shape, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bytes_are_numpy_v1() {
        let bytes = encode_npy(&[1.0f32, -2.5, 0.0, 3.25, 5.0, 6.0], &[3, 1, 2]).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
        assert!(
            header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 2), }")
        );
        assert!(header.ends_with('\n'));
        assert_eq!(&bytes[10 + hlen..10 + hlen + 4], &[0x00, 0x00, 0x80, 0x3f]); // 1.0f32 LE
        assert_eq!(bytes.len(), 10 + hlen + 24);
        let one_d = encode_npy(&[1.0f32; 5], &[5]).unwrap();
        assert!(std::str::from_utf8(&one_d[10..74])
            .unwrap()
            .contains("'shape': (5,)"));
    }

    #[test]
    fn roundtrip_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("attribution.npy");
        let data: Vec<f32> = (0..60).map(|i| (i as f32 - 30.0) * 0.37).collect();
        write_npy_atomic(&p, &data, &[3, 4, 5]).unwrap();
        let (shape, back) = decode_npy(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(shape, vec![3, 4, 5]);
        assert_eq!(back, data);
        assert!(write_npy_atomic(&p, &data, &[3, 4, 4]).is_err());
        assert!(decode_npy(b"not npy").is_err());
    }

    #[test]
    fn float64_roundtrips_and_each_reader_names_the_dtype_it_takes() {
        let data: Vec<f64> = (0..12).map(|i| 1.0 / (i as f64 + 3.0)).collect();
        let bytes = encode_npy(&data, &[3, 4]).unwrap();
        let (shape, back) = decode_npy_as::<f64>(&bytes).unwrap();
        assert_eq!((shape, back), (vec![3, 4], data));
        let e = decode_npy(&bytes).unwrap_err().to_string();
        assert!(e.contains("float32 ('<f4')"), "{e}");
        let f32_bytes = encode_npy(&[1.0f32, 2.0], &[2]).unwrap();
        let e = decode_npy_as::<f64>(&f32_bytes).unwrap_err().to_string();
        assert!(e.contains("float64 ('<f8')"), "{e}");
    }
}
