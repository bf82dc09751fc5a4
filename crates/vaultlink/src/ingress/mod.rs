//! How requests arrive: the HTTPS listeners and request reading (`http`), the CONNECT proxy
//! (`proxy`), the lab's per-NIC network namespaces (`lab`), and the one table of the host names
//! vaultlink plays (`hosts`), which the proxy and the router both read; the identity listener's
//! CA and health paths (`wellknown`); the thread that syncs the disk for writes answered on a
//! connection's thread (`settle`).

pub(crate) mod hosts;
pub(crate) mod http;
pub(crate) mod lab;
pub(crate) mod limits;
pub(crate) mod proxy;
pub(crate) mod settle;
pub(crate) mod wellknown;
