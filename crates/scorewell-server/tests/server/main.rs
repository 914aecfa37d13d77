//! Integration tests of the scoring server: one test binary, the real server on a loopback
//! port, one module per area.

mod util;

mod ops;
mod reload;
mod v1;
mod v2;
