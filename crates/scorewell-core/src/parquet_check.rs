//! A check of a Parquet file's dictionary pages before the parquet crate decodes them.
//!
//! parquet 60 sizes a dictionary from the count its page header declares (`resize` to that
//! many values) before it decodes the page's bytes: fuzzing found a 5 KB file whose INT64
//! dictionary declared 811 million values, so the reader asked for 6.5 GB. A dictionary page
//! is stored PLAIN, where every value takes at least a known number of bytes (a bit for a
//! boolean, the 4-byte length prefix for a byte array), so a declared count the page's bytes
//! cannot hold is refused here, reading only each column chunk's first page.

use parquet::basic::Type;
use parquet::column::page::Page;
use parquet::errors::{ParquetError, Result};
use parquet::file::reader::{ChunkReader, FileReader};
use parquet::file::serialized_reader::SerializedFileReader;

/// Refuse a file whose dictionary pages declare more values than their bytes can hold.
/// Only dictionary pages are decoded (a chunk's first page, when it is one).
pub fn check_dictionaries<R: ChunkReader + 'static>(reader: R) -> Result<()> {
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
