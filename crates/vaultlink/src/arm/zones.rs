//! Microsoft.Network/privateDnsZones: zones, virtual network links, record sets.

use super::*;

pub(super) fn dns_routes(
    app: &App,
    req: &Req,
    zone: (&str, &str, &str),
    rest: &[&str],
    p: &Path,
    c: &Admitted,
) -> Result<Resp> {
    use Method as M;
    let e = &app.engine;
    let pre = preconditions(req);
    let n = |i: usize| p.at(8 + i);
    Ok(match (&req.method, rest) {
        (&M::GET, []) => json_ok(
            StatusCode::OK,
            &e.read(|s| privatedns::get_zone(s, c, zone).map(|z| privatedns::render_zone(s, &z)))?,
        ),
        (&M::PUT, []) => {
            let spec = parse_body(req, Provider::Network)?;
            let (z, new) = write_then(
                app,
                c,
                |s, b| privatedns::put_zone(s, b, c, zone, spec, pre),
                |s, (z, new)| (privatedns::render_zone(s, &z), new),
            )?;
            json_ok(created(new), &z)
        }
        (&M::PATCH, []) => {
            let spec = parse_body(req, Provider::Network)?;
            let z = write_then(
                app,
                c,
                |s, b| privatedns::patch_zone(s, b, c, zone, spec, pre),
                |s, z| privatedns::render_zone(s, &z),
            )?;
            json_ok(StatusCode::OK, &z)
        }
        (&M::DELETE, []) => deleted(write(app, c, |s, b| privatedns::delete_zone(s, b, c, zone, pre))?),
        (&M::GET, ["virtualnetworklinks"]) => list(
            req,
            c,
            e.read(|s| {
                privatedns::get_zone(s, c, zone)
                    .map(|z| privatedns::links_of(s, &z.id).iter().map(privatedns::render_link).collect())
            })?,
        ),
        (&M::GET, ["virtualnetworklinks", _]) => json_ok(
            StatusCode::OK,
            &privatedns::render_link(&e.read(|s| privatedns::get_link(s, c, (zone.0, zone.1, zone.2, n(1))))?),
        ),
        (&M::PUT | &M::PATCH, ["virtualnetworklinks", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (l, new) =
                write(app, c, |s, b| privatedns::put_link(s, b, c, (zone.0, zone.1, zone.2, n(1)), spec, pre))?;
            json_ok(if req.method == M::PATCH { StatusCode::OK } else { created(new) }, &privatedns::render_link(&l))
        }
        (&M::DELETE, ["virtualnetworklinks", _]) => {
            deleted(write(app, c, |s, b| privatedns::delete_link(s, b, c, (zone.0, zone.1, zone.2, n(1)), pre))?)
        }
        (&M::GET, ["all"]) => list(
            req,
            c,
            e.read(|s| privatedns::list_record_sets(s, c, zone, None))?
                .iter()
                .map(|r| privatedns::render_record_set(&zone.2.to_ascii_lowercase(), r))
                .collect(),
        ),
        (&M::GET, [_]) => list(
            req,
            c,
            e.read(|s| privatedns::list_record_sets(s, c, zone, Some(n(0))))?
                .iter()
                .map(|r| privatedns::render_record_set(&zone.2.to_ascii_lowercase(), r))
                .collect(),
        ),
        (&M::GET, [_, _]) => json_ok(
            StatusCode::OK,
            &privatedns::render_record_set(
                &zone.2.to_ascii_lowercase(),
                &e.read(|s| privatedns::get_record_set(s, c, (zone.0, zone.1, zone.2, n(0), n(1))))?,
            ),
        ),
        (&M::PUT | &M::PATCH, [_, _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let patch = req.method == M::PATCH;
            let (r, new) = write(app, c, |s, b| {
                privatedns::put_record_set(s, b, c, (zone.0, zone.1, zone.2, n(0), n(1)), spec, pre, patch)
            })?;
            json_ok(
                if patch { StatusCode::OK } else { created(new) },
                &privatedns::render_record_set(&zone.2.to_ascii_lowercase(), &r),
            )
        }
        (&M::DELETE, [_, _]) => deleted(write(app, c, |s, b| {
            privatedns::delete_record_set(s, b, c, (zone.0, zone.1, zone.2, n(0), n(1)), pre)
        })?),
        _ => return Err(no_route(req)),
    })
}
