//! The vaultlink binary: command line, start-up wiring, shutdown.

mod arm;
mod cli;
mod control;
mod dataplane;
mod entra;
mod graph;
mod ingress;
mod portal;
mod serve;

// The ingress modules keep their short paths (`crate::http::App`, ...).
use ingress::{http, lab, proxy};

fn main() -> anyhow::Result<()> {
    cli::run()
}
