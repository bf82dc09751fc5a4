//! The vaultlink binary: command line, start-up wiring, shutdown.

mod arm;
mod cli;
mod dataplane;
mod entra;
mod http;
mod proxy;
mod serve;

fn main() -> anyhow::Result<()> {
    cli::run()
}
