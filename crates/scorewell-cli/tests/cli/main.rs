//! Integration tests of the `scorewell` binary: one test binary, one module per command.

mod util;

mod errors;
mod inspect;
mod score;
