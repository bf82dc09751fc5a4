//! `{scope}/providers/Microsoft.Authorization/...`: role assignments and role definitions.

use super::*;

/// `{scope}/providers/Microsoft.Authorization/...`: role assignments and role definitions at any scope.
pub(super) fn authorization_routes(
    app: &App,
    req: &Req,
    p: &Path,
    at: usize,
    rest: &[&str],
    c: &Admitted,
) -> Result<Resp> {
    use Method as M;
    let e = &app.engine;
    let scope = if at == 0 { String::new() } else { format!("/{}", p.orig[..at].join("/")) };
    // The scope must be the caller's subscription (and an existing resource group when named).
    if !scope.is_empty() {
        e.read(|s| -> Result<()> {
            let sub = p.orig.get(1).map(String::as_str).unwrap_or_default();
            resources::subscription(s, c, sub)?;
            if at >= 4 && p.lower[2] == "resourcegroups" {
                resources::resource_group(s, c, sub, p.at(3))?;
            }
            Ok(())
        })?;
    }
    let filter = req.query("$filter");
    Ok(match (&req.method, rest) {
        (&M::GET, ["roleassignments"]) => list(
            req,
            c,
            e.read(|s| rbac::list_assignments(s, &scope, filter)).iter().map(rbac::render_assignment).collect(),
        ),
        (&M::GET, ["roleassignments", _]) => json_ok(
            StatusCode::OK,
            &rbac::render_assignment(&e.read(|s| rbac::get_assignment(s, &scope, p.at(at + 3)))?),
        ),
        (&M::PUT, ["roleassignments", _]) => {
            let spec = vaultlink_core::wire::parse(body_json(req)?)?;
            let (a, new) = write(app, c, |s, b| rbac::put_assignment(s, b, c, &scope, p.at(at + 3), spec))?;
            json_ok(created(new), &rbac::render_assignment(&a))
        }
        (&M::DELETE, ["roleassignments", _]) => {
            match write(app, c, |s, b| Ok(rbac::delete_assignment(s, b, &scope, p.at(at + 3))))? {
                Some(a) => json_ok(StatusCode::OK, &rbac::render_assignment(&a)),
                None => empty(StatusCode::NO_CONTENT),
            }
        }
        (&M::GET, ["roledefinitions"]) => list(req, c, e.read(|s| rbac::list_role_definitions(s, &scope, filter))),
        (&M::GET, ["roledefinitions", _]) => {
            let found = e.read(|s| match rbac::role_in(s, p.at(at + 3)) {
                Some(rbac::Role::BuiltIn(r)) => Some(rbac::render_role(&scope, r)),
                Some(rbac::Role::Custom(r)) => Some(rbac::custom::render(&scope, &r)),
                None => None,
            });
            match found {
                Some(v) => json_ok(StatusCode::OK, &v),
                None => {
                    return Err(Error::not_found(
                        "RoleDefinitionDoesNotExist",
                        format!("The role definition '{}' could not be found.", p.at(at + 3)),
                    ));
                }
            }
        }
        (&M::PUT, ["roledefinitions", _]) => {
            let spec = vaultlink_core::wire::parse(body_json(req)?)?;
            // 201 for an update as well: Azure's only success status for this PUT (the spec's,
            // and what the SDKs accept).
            let (r, _) = write(app, c, |s, b| rbac::custom::put(s, b, c, p.at(at + 3), spec))?;
            json_ok(StatusCode::CREATED, &rbac::custom::render(&scope, &r))
        }
        (&M::DELETE, ["roledefinitions", _]) => match write(app, c, |s, b| rbac::custom::delete(s, b, p.at(at + 3)))? {
            Some(r) => json_ok(StatusCode::OK, &rbac::custom::render(&scope, &r)),
            None => empty(StatusCode::NO_CONTENT),
        },
        _ => return Err(no_route(req)),
    })
}
