//! Microsoft.KeyVault's routes under a resource group: vaults, their connections and policies,
//! and their secrets and keys as Resource Manager serves them (`vaults/secrets`, `vaults/keys`:
//! metadata out, never a value or key material; the data plane's objects, written without its
//! firewall or permission model).

use super::*;
use vaultlink_core::kv::keys::arm as keys;
use vaultlink_core::kv::secrets::arm as secrets;

/// Routes below `.../vaults/{name}`.
pub(super) fn vault_routes(app: &App, req: &Req, p: &Path, rest: &[&str], c: &Admitted, api: &str) -> Result<Resp> {
    use Method as M;
    let e = &app.engine;
    let key = (p.at(1), p.at(3), p.at(7));
    Ok(match (&req.method, rest) {
        (&M::GET, []) => json_ok(
            StatusCode::OK,
            &e.read(|s| keyvault::vault(s, c, key.0, key.1, key.2).map(|v| keyvault::render_vault(s, &v)))?,
        ),
        (&M::PUT, []) => {
            let spec = parse_body(req, Provider::KeyVault)?;
            let (new, v) = write_then(
                app,
                c,
                |s, b| keyvault::put_vault(s, b, c, key, api, spec),
                |s, out| {
                    keyvault::vault(s, c, key.0, key.1, key.2).map(|v| (out.created, keyvault::render_vault(s, &v)))
                },
            )??;
            json_ok(created(new), &v)
        }
        (&M::PATCH, []) => {
            let body = body_json(req)?;
            let v = write_then(
                app,
                c,
                |s, b| {
                    // The vault first: a missing vault is refused whatever the body's shape.
                    let current = keyvault::vault(s, c, key.0, key.1, key.2)?;
                    keyvault::patch_vault(s, b, c, current, vaultlink_core::wire::parse_for(Provider::KeyVault, body)?)
                },
                |s, _| keyvault::vault(s, c, key.0, key.1, key.2).map(|v| keyvault::render_vault(s, &v)),
            )??;
            json_ok(StatusCode::OK, &v)
        }
        (&M::DELETE, []) => deleted(write(app, c, |s, b| keyvault::delete_vault(s, b, c, key))?),
        (&M::GET, ["privatelinkresources"]) => json_ok(
            StatusCode::OK,
            &keyvault::render_private_link_resources(&e.read(|s| keyvault::vault(s, c, key.0, key.1, key.2))?),
        ),
        (&M::GET, ["privateendpointconnections"]) => {
            list(req, c, e.read(|s| connections::list(s, c, key))?.iter().map(connections::render).collect())
        }
        (&M::GET, ["privateendpointconnections", _]) => {
            json_ok(StatusCode::OK, &connections::render(&e.read(|s| connections::get(s, c, key, p.at(9)))?))
        }
        (&M::PUT, ["privateendpointconnections", _]) => {
            let spec = parse_body(req, Provider::KeyVault)?;
            json_ok(
                StatusCode::OK,
                &connections::render(&write(app, c, |s, b| connections::put(s, b, c, key, p.at(9), spec))?),
            )
        }
        (&M::DELETE, ["privateendpointconnections", _]) => {
            match write(app, c, |s, b| connections::delete(s, b, c, key, p.at(9)))? {
                Some(pec) => json_ok(StatusCode::OK, &connections::render(&pec)),
                None => empty(StatusCode::NO_CONTENT),
            }
        }
        (&M::PUT, ["accesspolicies", op @ ("add" | "replace" | "remove")]) => {
            let body = body_json(req)?;
            let op = op.to_string();
            let answer = write(app, c, |s, b| {
                // The vault first: a missing vault is refused whatever the body's shape.
                let v = keyvault::vault(s, c, key.0, key.1, key.2)?;
                let update = vaultlink_core::wire::parse_for(Provider::KeyVault, body)?;
                keyvault::update_access_policies(s, b, c, v, &op, update)
            })?;
            json_ok(StatusCode::OK, &answer)
        }
        (&M::GET, ["secrets"]) => {
            list(req, c, e.read(|s| secrets::list(s, c, key))?.iter().map(secrets::render).collect())
        }
        (&M::GET, ["secrets", _]) => {
            json_ok(StatusCode::OK, &secrets::render(&e.read(|s| secrets::get(s, c, key, p.at(9)))?))
        }
        // The body is parsed inside the write, once the vault is found (404 before 400).
        (&M::PUT, ["secrets", _]) => {
            let body = body_json(req)?;
            let spec = || vaultlink_core::wire::parse_for(Provider::KeyVault, body);
            let (new, r) = write(app, c, |s, b| secrets::put(s, b, &app.sealer, c, key, p.at(9), spec))?;
            json_ok(created(new), &secrets::render(&r))
        }
        (&M::PATCH, ["secrets", _]) => {
            let body = body_json(req)?;
            let spec = || vaultlink_core::wire::parse_for(Provider::KeyVault, body);
            let (new, r) = write(app, c, |s, b| secrets::patch(s, b, &app.sealer, c, key, p.at(9), spec))?;
            json_ok(created(new), &secrets::render(&r))
        }
        (&M::GET, ["keys"]) => list(req, c, e.read(|s| keys::list(s, c, key))?.iter().map(keys::render_item).collect()),
        (&M::GET, ["keys", _]) => json_ok(StatusCode::OK, &keys::render(&e.read(|s| keys::get(s, c, key, p.at(9)))?)),
        // Keys_CreateIfNotExist: 200 whether it made the key or found it.
        (&M::PUT, ["keys", _]) => {
            let body = body_json(req)?;
            let spec = || vaultlink_core::wire::parse_for(Provider::KeyVault, body);
            json_ok(
                StatusCode::OK,
                &keys::render(&write(app, c, |s, b| keys::put(s, b, &app.sealer, c, key, p.at(9), spec))?),
            )
        }
        (&M::GET, ["keys", _, "versions"]) => list(
            req,
            c,
            e.read(|s| keys::list_versions(s, c, key, p.at(9)))?.iter().map(keys::render_version_item).collect(),
        ),
        (&M::GET, ["keys", _, "versions", _]) => json_ok(
            StatusCode::OK,
            &keys::render_version(&e.read(|s| keys::get_version(s, c, key, p.at(9), p.at(11)))?),
        ),
        _ => return Err(no_route(req)),
    })
}
