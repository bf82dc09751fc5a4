//! The template language's tests: each function, parameters, plans (copy loops, conditions,
//! ordering, nested children, `languageVersion` 2.0, nested deployments) and the seed's topology
//! as Bicep compiles it, over a fake [`Host`](super::Host).

mod functions;
