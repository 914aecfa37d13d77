//! Calls into third-party decoders on input bytes. The parquet crate and tract unwrap in
//! places on input they do not expect: fuzzing found the parquet reader panicking on a
//! malformed map column. Run under [`catch`], such a file is an error naming the decoder, not
//! the end of the process (a server, a Spark executor).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`; a panic inside it becomes `Err` with the panic's message.
///
/// Whatever `f` captured may be left half-updated by the panic: callers drop it, or, like a
/// reader, stop using it after the error.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| message(panic.as_ref()))
}

fn message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::catch;

    #[test]
    fn a_panic_is_an_error_with_its_message() {
        assert_eq!(catch(|| 1 + 1), Ok(2));
        let err = catch(|| -> u8 { panic!("bad {}", "map") }).unwrap_err();
        assert_eq!(err, "bad map");
        let err = catch(|| -> u8 { std::panic::panic_any(7u32) }).unwrap_err();
        assert_eq!(err, "(no message)");
    }
}
