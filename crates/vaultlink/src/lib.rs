//! vaultlink as a library: every module of the binary, so that the fuzz targets (`fuzz/`) can
//! drive the real request router in-process. The binary (`main.rs`) only calls [`run`]; nothing
//! here is a stable API. The `fuzzing` feature adds [`fuzzing`], the one door the targets use.

mod admin;
mod arm;
mod cli;
mod clock;
mod control;
mod dataplane;
mod entra;
mod graph;
mod ingress;
mod portal;
mod seedfile;
mod serve;

// The ingress modules keep their short paths (`crate::http::App`, ...).
use ingress::{http, lab, proxy};

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

/// The command line: parses the arguments and runs the chosen command.
pub fn run() -> anyhow::Result<()> {
    cli::run()
}
