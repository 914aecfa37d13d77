//! A check of a Parquet file's dictionary pages before the parquet crate decodes them.
//!
//! parquet 60 sizes a dictionary from the count its page header declares (`resize` to that
//! many values) before it decodes the page's bytes: fuzzing found a 5 KB file whose INT64
//! dictionary declared 811 million values, so the reader asked for 6.5 GB. A dictionary page
//! is stored PLAIN, where every value takes at least a known number of bytes (a bit for a
//! boolean, the 4-byte length prefix for a byte array), so a declared count the page's bytes
//! cannot hold is refused here, reading only each column chunk's first page.
//!
//! It also allocates a compressed page's declared `uncompressed_page_size` (up to 2 GiB)
//! before it decompresses the page, and a small page of a compressible codec really can grow
//! that large: fuzzing found a file under 110 KB that made the reader hold 2 GB. So every
//! page header is read first (only the header, with this crate's `thrift_compact` reader),
//! and a page declaring more than [`MAX_PAGE_BYTES`] uncompressed is refused.

use parquet::basic::Type;
use parquet::column::page::Page;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::file::reader::{ChunkReader, FileReader};
use parquet::file::serialized_reader::SerializedFileReader;

use crate::thrift_compact;

/// The most bytes one page may declare uncompressed: 256 MiB. Writers cut pages at about
/// 1 MiB (Spark, pyarrow and parquet-rs defaults), and only a single value larger than this
/// could need more.
pub const MAX_PAGE_BYTES: u64 = 256 << 20;

/// How much of a page is read to find its header: headers are tens of bytes, more with
/// statistics of long strings.
const HEADER_PEEK: u64 = 4 << 10;
const HEADER_PEEK_MAX: u64 = 256 << 10;

/// Refuse a file with a page that declares more than [`MAX_PAGE_BYTES`] uncompressed, or
/// whose dictionary pages declare more values than their bytes can hold. Only page headers
/// are read, and only dictionary pages are decoded (a chunk's first page, when it is one).
pub fn check_dictionaries<R: ChunkReader + 'static>(reader: R) -> Result<()> {
    check_page_sizes(&reader, MAX_PAGE_BYTES)?;
    let file = SerializedFileReader::new(reader)?;
    for g in 0..file.metadata().num_row_groups() {
        let row_group = file.get_row_group(g)?;
        for c in 0..row_group.metadata().num_columns() {
            let column = row_group.metadata().column(c);
            let mut pages = row_group.get_column_page_reader(c)?;
            if !pages.peek_next_page()?.is_some_and(|p| p.is_dict) {
                continue;
            }
            let Some(Page::DictionaryPage {
                buf, num_values, ..
            }) = pages.get_next_page()?
            else {
                continue;
            };
            let bits = (buf.len() as u64).saturating_mul(8);
            let per_value = match column.column_type() {
                Type::BOOLEAN => 1,
                Type::INT32 | Type::FLOAT | Type::BYTE_ARRAY => 32,
                Type::INT64 | Type::DOUBLE => 64,
                Type::INT96 => 96,
                Type::FIXED_LEN_BYTE_ARRAY => {
                    8 * u64::try_from(column.column_descr().type_length().max(1)).unwrap_or(1)
                }
            };
            if u64::from(num_values).saturating_mul(per_value) > bits {
                return Err(ParquetError::General(format!(
                    "column `{}`, row group {g}: the dictionary page declares {num_values} values, \
                     more than its {} bytes can hold",
                    column.column_path(),
                    buf.len()
                )));
            }
        }
    }
    Ok(())
}

/// Refuse a page declaring more than `limit` bytes uncompressed (or a negative size), walking
/// each column chunk's page headers. A header this reader cannot parse ends the walk of its
/// chunk: the parquet crate then reports it.
pub fn check_page_sizes<R: ChunkReader>(reader: &R, limit: u64) -> Result<()> {
    let metadata = ParquetMetaDataReader::new().parse_and_finish(reader)?;
    let file_len = reader.len();
    for (g, row_group) in metadata.row_groups().iter().enumerate() {
        for column in row_group.columns() {
            let (start, len) = column.byte_range();
            let Some(end) = start.checked_add(len).filter(|&e| e <= file_len) else {
                return Err(ParquetError::General(format!(
                    "column `{}`, row group {g}: its chunk ({len} bytes at {start}) runs past the \
                     end of the file ({file_len} bytes)",
                    column.column_path().string()
                )));
            };
            let mut pos = start;
            let mut page = 0usize;
            while pos < end {
                let Some(sizes) = header_at(reader, pos, end)? else {
                    break;
                };
                if !u64::try_from(sizes.uncompressed).is_ok_and(|n| n <= limit) {
                    return Err(ParquetError::General(format!(
                        "column `{}`, row group {g}: page {page} declares {} bytes uncompressed, \
                         more than the {limit} a page may hold",
                        column.column_path().string(),
                        sizes.uncompressed
                    )));
                }
                let Ok(compressed) = u64::try_from(sizes.compressed) else {
                    break;
                };
                pos = pos
                    .saturating_add(sizes.header_len as u64)
                    .saturating_add(compressed);
                page += 1;
            }
        }
    }
    Ok(())
}

/// The page header at `pos` (the chunk ends at `end`), read from a short peek and, if it is
/// longer than that, once more from a longer one.
fn header_at<R: ChunkReader>(
    reader: &R,
    pos: u64,
    end: u64,
) -> Result<Option<thrift_compact::PageSizes>> {
    for peek in [HEADER_PEEK, HEADER_PEEK_MAX] {
        let n = peek.min(end - pos);
        let bytes = reader.get_bytes(pos, n as usize)?;
        if let Some(sizes) = thrift_compact::page_header(&bytes) {
            return Ok(Some(sizes));
        }
        if n < peek {
            break;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, RecordBatch};
    use bytes::Bytes;
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;

    use super::*;

    /// One zstd column of 200,000 doubles in one page: 1.6 MB uncompressed, whose size is a
    /// 4-byte varint in the header (so a forged size of the same width fits in place).
    fn zstd_file() -> Vec<u8> {
        // Values that do not compress away, so the chunk is as long as its page.
        let values = Float64Array::from_iter_values(
            (0..200_000u64).map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 11) as f64),
        );
        let batch = RecordBatch::try_from_iter([("x", Arc::new(values) as _)]).unwrap();
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_dictionary_enabled(false)
            .set_data_page_size_limit(8 << 20)
            .set_write_batch_size(1 << 20)
            .build();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        out
    }

    #[test]
    fn real_pages_pass_and_a_page_declaring_more_than_the_limit_is_refused() {
        let file = zstd_file();
        check_page_sizes(&Bytes::from(file.clone()), MAX_PAGE_BYTES).unwrap();
        check_dictionaries(Bytes::from(file.clone())).unwrap();
        // The first page's header follows the 4-byte magic: its size field (0x15, then the
        // zigzag varint of 1,600,000) is rewritten to 100,000,000, the same 4 bytes wide.
        let sizes = thrift_compact::page_header(&file[4..]).unwrap();
        assert_eq!(sizes.uncompressed, 1_600_000);
        let zigzag = |v: u64| {
            let mut v = v << 1;
            let mut out = Vec::new();
            while v >= 0x80 {
                out.push((v as u8) | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
            out
        };
        let (old, new) = (zigzag(1_600_000), zigzag(100_000_000));
        assert_eq!(old.len(), new.len());
        let at = file
            .windows(old.len() + 1)
            .position(|w| w[0] == 0x15 && w[1..] == old[..])
            .unwrap();
        let mut forged = file.clone();
        forged[at + 1..at + 1 + new.len()].copy_from_slice(&new);
        let err = check_page_sizes(&Bytes::from(forged), 64 << 20)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "column `x`, row group 0: page 0 declares 100000000 bytes uncompressed, more than the 67108864 a page may hold"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_chunk_running_past_the_end_of_the_file_is_refused() {
        let file = zstd_file();
        // Cut the data out from under the footer: the chunk now runs past the end.
        let footer_len =
            u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap()) as usize;
        let footer = file[file.len() - 8 - footer_len..].to_vec();
        let mut cut = file[..8].to_vec();
        cut.extend_from_slice(&footer);
        let err = check_page_sizes(&Bytes::from(cut), MAX_PAGE_BYTES)
            .unwrap_err()
            .to_string();
        assert!(err.contains("runs past the end of the file"), "{err}");
    }
}
