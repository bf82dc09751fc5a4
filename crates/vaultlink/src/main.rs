//! The vaultlink binary: command line, start-up wiring, shutdown (all in the library, `lib.rs`).

fn main() -> anyhow::Result<()> {
    vaultlink::run()
}
