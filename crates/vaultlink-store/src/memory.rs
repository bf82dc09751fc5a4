//! `MemoryStore`: a store that keeps nothing (the core keeps the live state in memory anyway).

use crate::{Op, Seq, Store, StoreError};

/// Accepts every batch and forgets it: for `--in-memory` runs and tests. Nothing is durable, so
/// every position is 0 and `sync` returns at once.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryStore;

impl Store for MemoryStore {
    fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(Vec::new())
    }

    fn append(&self, _ops: &[Op]) -> Result<Seq, StoreError> {
        Ok(0)
    }

    fn sync(&self, _seq: Seq) -> Result<(), StoreError> {
        Ok(())
    }

    fn meta(&self, _name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }

    fn set_meta(&self, _name: &str, _value: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }

    fn is_durable(&self) -> bool {
        false
    }

    fn syncs(&self) -> u64 {
        0
    }
}
