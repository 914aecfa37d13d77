//! Integration tests of the `scorewell` binary: one test binary, one module per command.

mod util;

mod bundle;
mod errors;
mod eval;
mod inspect;
mod keras;
mod neighbors;
mod remote;
mod score;
mod serve;
mod sklearn;
