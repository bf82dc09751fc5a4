//! Waiting for the disk without holding a thread: the writes a connection thread ran
//! (`Engine::deferring_sync`) hand their position to one thread that syncs the store for all of
//! them, and their answers wait for it as futures. Run on the blocking pool instead, each write
//! cost a thread hand-off there and back and a thread parked through its sync, and the thread
//! switches cost more CPU than the write itself (BENCHMARKS.md, mixed load).

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

use tokio::sync::oneshot;
use vaultlink_core::Engine;
use vaultlink_core::error::Error;
use vaultlink_store::Seq;

/// A write waiting for its sync, and where its outcome goes.
type Waiter = (Seq, oneshot::Sender<Result<(), Error>>);

/// The thread that syncs `engine`'s store for waiting writes, started on first use; it ends
/// when this is dropped.
pub(crate) struct Settler {
    engine: Arc<Engine>,
    queue: OnceLock<mpsc::Sender<Waiter>>,
}

impl Settler {
    pub(crate) fn new(engine: Arc<Engine>) -> Self {
        Self { engine, queue: OnceLock::new() }
    }

    /// Resolves once every batch up to `seq` is on disk, or with the store's failure.
    pub(crate) async fn settle(&self, seq: Seq) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        if self.queue().send((seq, tx)).is_err() {
            // The thread is gone (it could not be started): wait here instead.
            return self.engine.settle(seq);
        }
        rx.await.unwrap_or_else(|_| Err(Error::internal("the disk sync thread stopped")))
    }

    fn queue(&self) -> &mpsc::Sender<Waiter> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Waiter>();
            let engine = self.engine.clone();
            // Should the thread not start, `rx` is dropped with the closure and `settle` waits itself.
            let _ = std::thread::Builder::new().name("vaultlink-sync".into()).spawn(move || run(&engine, &rx));
            tx
        })
    }
}

/// Takes every write waiting at once, syncs through the last of them with one call, and answers
/// them all. After a failed sync each is answered by its own position, since some were covered
/// by an earlier sync.
fn run(engine: &Engine, queue: &mpsc::Receiver<Waiter>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        group.extend(queue.try_iter());
        let last = group.iter().map(|(seq, _)| *seq).max().unwrap_or_default();
        let all = engine.settle(last);
        for (seq, tx) in group {
            let _ = tx.send(if all.is_ok() { Ok(()) } else { engine.settle(seq) });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    /// Writes answered before their sync are all made durable by `settle`, sharing syncs, and a
    /// reopened state holds every one.
    #[test]
    fn settled_writes_share_syncs_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let open = || {
            let store = vaultlink_store::SqliteStore::open(&path).unwrap();
            let engine = vaultlink_core::Engine::open(Box::new(store)).unwrap();
            vaultlink_core::bootstrap::seed(&engine).unwrap();
            Arc::new(engine)
        };
        let names: Vec<String> = (0..20).map(|i| format!("rg-settled-{i}")).collect();
        {
            let engine = open();
            let settler = Arc::new(super::Settler::new(engine.clone()));
            let before = engine.store_syncs();
            let seqs: Vec<_> = names
                .iter()
                .map(|name| {
                    let ((), seq) = engine.deferring_sync(|| put_group(&engine, name));
                    seq.expect("a durable write to settle")
                })
                .collect();
            assert_eq!(engine.store_syncs(), before, "nothing synced before settle");
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let mut waiting = tokio::task::JoinSet::new();
                for seq in seqs {
                    let settler = settler.clone();
                    waiting.spawn(async move { settler.settle(seq).await });
                }
                while let Some(done) = waiting.join_next().await {
                    done.unwrap().unwrap();
                }
            });
            let syncs = engine.store_syncs() - before;
            assert!((1..=2).contains(&syncs), "20 waiting writes took {syncs} syncs");
        }
        let engine = open();
        for name in &names {
            let id = vaultlink_core::resources::resource_group_id(vaultlink_core::seed::SUBSCRIPTION_ID, name);
            assert!(engine.read(|s| s.get(&id).is_some()), "{name} lost");
        }
    }

    /// A store whose syncs cover positions up to `durable` and fail past it, as a disk that
    /// failed after those batches were on it.
    struct FailsAfter {
        appended: std::sync::atomic::AtomicU64,
        durable: u64,
    }

    impl vaultlink_store::Store for FailsAfter {
        fn load_all(&self) -> Result<vaultlink_store::Records, vaultlink_store::StoreError> {
            Ok(Vec::new())
        }
        fn append(&self, _: &[vaultlink_store::Op]) -> Result<u64, vaultlink_store::StoreError> {
            Ok(self.appended.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1)
        }
        fn sync(&self, seq: u64) -> Result<(), vaultlink_store::StoreError> {
            if seq <= self.durable { Ok(()) } else { Err(vaultlink_store::StoreError::Failed) }
        }
        fn meta(&self, _: &str) -> Result<Option<Vec<u8>>, vaultlink_store::StoreError> {
            Ok(None)
        }
        fn set_meta(&self, _: &str, _: &[u8]) -> Result<(), vaultlink_store::StoreError> {
            Ok(())
        }
        fn is_durable(&self) -> bool {
            true
        }
        fn syncs(&self) -> u64 {
            0
        }
    }

    /// When the sync of a group fails, each write in it is answered by its own position: the
    /// ones an earlier sync covered succeed, the others get the store's failure.
    #[test]
    fn a_failed_sync_fails_only_the_writes_it_did_not_cover() {
        let store = FailsAfter { appended: Default::default(), durable: 3 };
        let engine = Arc::new(vaultlink_core::Engine::open(Box::new(store)).unwrap());
        let settler = super::Settler::new(engine);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let (covered, lost) = tokio::join!(settler.settle(3), settler.settle(4));
            covered.unwrap();
            let e = lost.unwrap_err();
            assert_eq!((e.kind, e.code()), (vaultlink_core::error::Kind::Internal, "InternalServerError"));
        });
    }

    fn put_group(engine: &vaultlink_core::Engine, name: &str) {
        engine
            .write(|s, b| {
                vaultlink_core::resources::put_resource_group(
                    s,
                    b,
                    &vaultlink_core::testing::developer(),
                    vaultlink_core::seed::SUBSCRIPTION_ID,
                    name,
                    vaultlink_core::wire::parse(serde_json::json!({"location": "westeurope"}))?,
                )
            })
            .unwrap();
    }
}
