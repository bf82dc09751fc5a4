//! The vaultlink binary: command line, start-up wiring, shutdown.

mod arm;
mod cli;
mod control;
mod dataplane;
mod dataplane_certs;
mod dataplane_keys;
mod entra;
mod graph;
mod http;
mod lab;
mod portal;
mod proxy;
mod serve;

fn main() -> anyhow::Result<()> {
    cli::run()
}
