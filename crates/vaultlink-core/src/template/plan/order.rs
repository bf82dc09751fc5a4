//! Dependencies and order: every `dependsOn` resolved (a resource id, `type/name`, a name, a
//! symbolic name, a copy loop's name for all its members; one on a resource whose condition is
//! false or that is `existing` dropped), the implicit ones from `reference()`/`list*()` of a
//! resource of the template, a nested child's parent, a serial loop's previous batch; then a
//! stable topological order, a cycle refused as ARM refuses it.

use serde_json::Value;

use super::{Loops, Member, Plan, strip, wrap};
use crate::template::eval::{evaluate, evaluate_value, resource_calls};
use crate::template::world::{Declared, Phase};
use crate::template::{TemplateError, invalid};

impl Plan {
    /// Resolves every member's dependencies and puts the deployed ones in an order that respects
    /// them.
    pub(super) fn order(&mut self, members: Vec<Member>) -> Result<(), TemplateError> {
        let n = members.len();
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, m) in members.iter().enumerate() {
            if !m.deployed {
                continue;
            }
            let fixed = self.fixed();
            let env = self.env(&fixed, None, Phase::Static, false);
            let ctx = Loops { outer: &env, loops: &m.resource.loops };
            let label = &m.resource.name;
            for d in m.resource.raw.get("dependsOn").and_then(Value::as_array).into_iter().flatten() {
                let target = match evaluate_value(d, &ctx) {
                    Ok(Value::String(s)) => s,
                    Ok(other) => {
                        return Err(invalid(format!(
                            "The template resource '{label}' dependsOn entry '{other}' must be a string."
                        )));
                    }
                    Err(e) => {
                        return Err(wrap(e, |msg| format!("The template resource '{label}' is not valid: {msg}")));
                    }
                };
                let found = matches(&members, &target);
                if found.is_empty() {
                    if self.declared.iter().any(|d| {
                        d.named(&target) || d.copy_name.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&target))
                    }) {
                        continue;
                    }
                    return Err(invalid(format!(
                        "The resource '{target}' is not defined in the template. Please see https://aka.ms/arm-template for usage details."
                    )));
                }
                deps[i].extend(found.into_iter().filter(|j| members[*j].deployed));
            }
            // Implicit: reference() and list*() of another resource of the template.
            let mut body = m.resource.raw.clone();
            strip(&mut body, m.resource.nested.as_ref().is_some_and(|t| t.inner));
            let mut calls = Vec::new();
            resource_calls(&body, &mut calls);
            for call in calls {
                let crate::template::expr::Expr::Call { args, .. } = call else { continue };
                let Some(first) = args.first() else { continue };
                if let Ok(Value::String(target)) = evaluate(first, &ctx) {
                    deps[i].extend(matches(&members, &target).into_iter().filter(|j| members[*j].deployed));
                }
            }
            if let Some(p) = m.parent
                && members[p].deployed
            {
                deps[i].push(p);
            }
            if let (Some(batch), Some((loop_name, k))) = (m.serial, &m.resource.copy)
                && *k >= batch
            {
                let start = (k / batch - 1) * batch;
                deps[i].extend(members.iter().enumerate().filter_map(|(j, o)| {
                    let (l, x) = o.resource.copy.as_ref()?;
                    (l == loop_name && (start..start + batch).contains(x) && o.parent == m.parent).then_some(j)
                }));
            }
        }
        // Kahn's algorithm, always taking the earliest ready resource in template order.
        let live: Vec<usize> = (0..n).filter(|i| members[*i].deployed).collect();
        let mut placed: Vec<Option<usize>> = vec![None; n];
        let mut order = Vec::with_capacity(live.len());
        while order.len() < live.len() {
            let next =
                live.iter().copied().find(|i| placed[*i].is_none() && deps[*i].iter().all(|d| placed[*d].is_some()));
            let Some(i) = next else {
                let stuck = live
                    .iter()
                    .copied()
                    .find(|i| placed[*i].is_none() && on_cycle(*i, &deps, &placed))
                    .unwrap_or_default();
                return Err(invalid(format!(
                    "Circular dependency detected on resource: '{}'. Please see https://aka.ms/arm-syntax-resources for usage details.",
                    members[stuck].resource.id
                )));
            };
            placed[i] = Some(order.len());
            order.push(i);
        }
        let mut members: Vec<Option<Member>> = members.into_iter().map(Some).collect();
        for i in order {
            let Some(m) = members[i].take() else { continue };
            let mut r = m.resource;
            let mut d: Vec<usize> = deps[i].iter().filter_map(|j| placed[*j]).collect();
            d.sort_unstable();
            d.dedup();
            r.depends_on = d;
            self.resources.push(r);
        }
        Ok(())
    }
}

/// The members' indexes a `dependsOn` or `reference()` target names: a copy loop (all its
/// members), an id, a symbolic name, a name or `type/name`.
fn matches(members: &[Member], target: &str) -> Vec<usize> {
    let declared = |m: &Member| Declared {
        symbolic: m.resource.symbolic_name.clone(),
        name: m.resource.name.clone(),
        resource_type: m.resource.resource_type.clone(),
        id: m.resource.id.clone(),
        api_version: String::new(),
        copy_name: None,
    };
    let by_loop: Vec<usize> = members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.resource.copy.as_ref().is_some_and(|(l, _)| l.eq_ignore_ascii_case(target)))
        .map(|(i, _)| i)
        .collect();
    if !by_loop.is_empty() {
        return by_loop;
    }
    members.iter().enumerate().filter(|(_, m)| declared(m).named(target)).map(|(i, _)| i).collect()
}

/// Whether a resource not yet placed lies on a dependency cycle (reaches itself).
fn on_cycle(start: usize, deps: &[Vec<usize>], placed: &[Option<usize>]) -> bool {
    let mut stack = deps[start].clone();
    let mut seen = vec![false; deps.len()];
    while let Some(i) = stack.pop() {
        if i == start {
            return true;
        }
        if !std::mem::replace(&mut seen[i], true) && placed[i].is_none() {
            stack.extend(deps[i].iter().copied());
        }
    }
    false
}
