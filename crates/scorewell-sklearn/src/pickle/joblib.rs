//! joblib's whole-file compression, recognised by magic bytes as `joblib.load` does.

use std::io::Read;

use crate::error::{Result, SklearnError};

/// Decompressed files larger than this are refused (a compression bomb guard): far above
/// any scikit-learn model, far below what would exhaust a machine.
pub const MAX_DECOMPRESSED: u64 = 8 << 30;

/// The compressor a file starts with, if any.
pub fn compressor(bytes: &[u8]) -> Option<&'static str> {
    Some(match bytes {
        [0x78, ..] => "zlib",
        [0x1f, 0x8b, ..] => "gzip",
        [b'B', b'Z', b'h', ..] => "bz2",
        [0xfd, b'7', b'z', b'X', b'Z', ..] => "xz",
        [0x5d, 0x00, ..] => "lzma",
        [0x04, 0x22, 0x4d, 0x18, ..] => "lz4",
        [b'Z', b'F', ..] => "legacy-zfile",
        _ => return None,
    })
}

/// The pickle stream inside `bytes`: decompressed when joblib compressed it, else as is.
pub fn decompress(bytes: &[u8], limit: u64) -> Result<std::borrow::Cow<'_, [u8]>> {
    let Some(kind) = compressor(bytes) else {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    };
    let mut out = Vec::new();
    let failed = |e: std::io::Error| SklearnError::Compression(format!("{kind} stream: {e}"));
    let read = |r: &mut dyn Read, out: &mut Vec<u8>| -> std::io::Result<()> {
        r.take(limit + 1).read_to_end(out).map(|_| ())
    };
    match kind {
        "zlib" => read(&mut flate2::read::ZlibDecoder::new(bytes), &mut out).map_err(failed)?,
        "gzip" => read(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out).map_err(failed)?,
        "bz2" => read(&mut bzip2::read::MultiBzDecoder::new(bytes), &mut out).map_err(failed)?,
        "lz4" => read(&mut lz4_flex::frame::FrameDecoder::new(bytes), &mut out).map_err(failed)?,
        "xz" | "lzma" => {
            // lzma-rs decodes into a writer; cap it the same way.
            let mut input = std::io::BufReader::new(bytes);
            let mut sink = Capped {
                out: &mut out,
                limit,
            };
            let r = if kind == "xz" {
                lzma_rs::xz_decompress(&mut input, &mut sink)
            } else {
                lzma_rs::lzma_decompress(&mut input, &mut sink)
            };
            r.map_err(|e| SklearnError::Compression(format!("{kind} stream: {e}")))?;
        }
        other => {
            return Err(SklearnError::Compression(format!(
                "{other} compression (joblib < 0.10) is not supported; load and re-save the model with a current joblib"
            )));
        }
    }
    if out.len() as u64 > limit {
        return Err(SklearnError::Compression(format!(
            "{kind} stream decompresses to more than {limit} bytes; refusing it"
        )));
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// A writer that fails once more than `limit` bytes were written.
struct Capped<'a> {
    out: &'a mut Vec<u8>,
    limit: u64,
}

impl std::io::Write for Capped<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() as u64 + buf.len() as u64 > self.limit {
            return Err(std::io::Error::other("decompressed size limit reached"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_bomb_is_refused_at_the_limit() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 1 << 20]).expect("compress");
        let packed = z.finish().expect("finish");
        assert!(decompress(&packed, 1 << 20).is_ok());
        let err = decompress(&packed, 1000).expect_err("too big").to_string();
        assert!(err.contains("more than 1000 bytes"), "{err}");
    }

    #[test]
    fn plain_pickles_pass_through() {
        assert!(matches!(
            decompress(b"\x80\x04.", 10),
            Ok(std::borrow::Cow::Borrowed(_))
        ));
    }
}
