//! Microsoft.Network's routes: VNets, subnets, peerings, NICs, public IPs, NSGs and their rules,
//! private endpoints, zone groups, resolvers.

use vaultlink_core::compute;

use super::*;

/// Routes below `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/`.
pub(super) fn network_routes(app: &App, req: &Req, p: &Path, rest: &[&str], c: &Admitted) -> Result<Resp> {
    use Method as M;
    let e = &app.engine;
    let (sub, rg) = (p.at(1), p.at(3));
    let n = |i: usize| p.at(6 + i);
    Ok(match (&req.method, rest) {
        (&M::GET, [kind]) => {
            let scope = e.read(|s| resources::resource_group(s, c, sub, rg))?.id;
            list(req, c, list_network(e, &scope, kind)?)
        }
        // virtual networks and subnets
        (&M::GET, ["virtualnetworks", _]) => json_ok(
            StatusCode::OK,
            &e.read(|s| network::get_vnet(s, c, (sub, rg, n(1))).map(|v| network::render_vnet(s, &v)))?,
        ),
        (&M::PUT, ["virtualnetworks", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (v, new) = write_then(
                app,
                c,
                |s, b| network::put_vnet(s, b, c, (sub, rg, n(1)), spec),
                |s, (v, new)| (network::render_vnet(s, &network::vnet(s, &v.id).unwrap_or(v)), new),
            )?;
            json_ok(created(new), &v)
        }
        (&M::DELETE, ["virtualnetworks", _]) => {
            deleted(write(app, c, |s, b| network::delete_vnet(s, b, c, (sub, rg, n(1))))?)
        }
        (&M::GET, ["virtualnetworks", _, "subnets"]) => list(
            req,
            c,
            e.read(|s| {
                network::get_vnet(s, c, (sub, rg, n(1)))
                    .map(|v| network::subnets_of(s, &v.id).iter().map(|x| network::render_subnet(s, x)).collect())
            })?,
        ),
        (&M::GET, ["virtualnetworks", _, "subnets", _]) => json_ok(
            StatusCode::OK,
            &e.read(|s| network::get_subnet(s, c, (sub, rg, n(1), n(3))).map(|x| network::render_subnet(s, &x)))?,
        ),
        (&M::PUT, ["virtualnetworks", _, "subnets", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (x, new) = write_then(
                app,
                c,
                |s, b| network::put_subnet(s, b, c, (sub, rg, n(1), n(3)), spec),
                |s, (x, new)| (network::render_subnet(s, &x), new),
            )?;
            json_ok(created(new), &x)
        }
        (&M::DELETE, ["virtualnetworks", _, "subnets", _]) => {
            deleted(write(app, c, |s, b| network::delete_subnet(s, b, c, (sub, rg, n(1), n(3))))?)
        }
        (&M::GET, ["virtualnetworks", _, "virtualnetworkpeerings"]) => list(
            req,
            c,
            e.read(|s| {
                peering::list(s, c, (sub, rg, n(1))).map(|ps| ps.iter().map(|x| peering::render(s, x)).collect())
            })?,
        ),
        (&M::GET, ["virtualnetworks", _, "virtualnetworkpeerings", _]) => json_ok(
            StatusCode::OK,
            &e.read(|s| peering::get(s, c, (sub, rg, n(1), n(3))).map(|x| peering::render(s, &x)))?,
        ),
        (&M::PUT, ["virtualnetworks", _, "virtualnetworkpeerings", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (x, new) = write_then(
                app,
                c,
                |s, b| peering::put(s, b, c, (sub, rg, n(1), n(3)), spec),
                |s, (x, new)| (peering::render(s, &x), new),
            )?;
            json_ok(created(new), &x)
        }
        (&M::DELETE, ["virtualnetworks", _, "virtualnetworkpeerings", _]) => {
            deleted(write(app, c, |s, b| peering::delete(s, b, c, (sub, rg, n(1), n(3))))?)
        }
        // network interfaces
        (&M::GET, ["networkinterfaces", _]) => json_ok(
            StatusCode::OK,
            &e.read(|s| network::get_nic(s, c, (sub, rg, n(1))).map(|x| compute::render_nic(s, &x)))?,
        ),
        (&M::PUT, ["networkinterfaces", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (x, new) = write_then(
                app,
                c,
                |s, b| network::put_nic(s, b, c, (sub, rg, n(1)), spec),
                |s, (x, new)| (compute::render_nic(s, &x), new),
            )?;
            json_ok(created(new), &x)
        }
        (&M::DELETE, ["networkinterfaces", _]) => {
            deleted(write(app, c, |s, b| compute::delete_nic(s, b, c, (sub, rg, n(1))))?)
        }
        // public IP addresses
        (&M::GET, ["publicipaddresses", _]) => json_ok(
            StatusCode::OK,
            &e.read(|s| network::get_public_ip(s, c, (sub, rg, n(1))).map(|x| network::render_public_ip(s, &x)))?,
        ),
        (&M::PUT, ["publicipaddresses", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (x, new) = write_then(
                app,
                c,
                |s, b| network::put_public_ip(s, b, c, (sub, rg, n(1)), spec),
                |s, (x, new)| (network::render_public_ip(s, &x), new),
            )?;
            json_ok(created(new), &x)
        }
        (&M::DELETE, ["publicipaddresses", _]) => {
            deleted(write(app, c, |s, b| network::delete_public_ip(s, b, c, (sub, rg, n(1))))?)
        }
        // network security groups and their rules
        (&M::GET, ["networksecuritygroups", _]) => json_ok(
            StatusCode::OK,
            &e.read(|s| network::get_nsg(s, c, (sub, rg, n(1))).map(|x| network::render_nsg(s, &x)))?,
        ),
        (&M::PUT, ["networksecuritygroups", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (x, new) = write_then(
                app,
                c,
                |s, b| network::put_nsg(s, b, c, (sub, rg, n(1)), spec),
                |s, (x, new)| (network::render_nsg(s, &x), new),
            )?;
            json_ok(created(new), &x)
        }
        (&M::DELETE, ["networksecuritygroups", _]) => {
            deleted(write(app, c, |s, b| network::delete_nsg(s, b, c, (sub, rg, n(1))))?)
        }
        (&M::GET, ["networksecuritygroups", _, "securityrules"]) => list(
            req,
            c,
            e.read(|s| {
                network::get_nsg(s, c, (sub, rg, n(1)))
                    .map(|g| g.security_rules.iter().map(|r| network::render_rule(&g.id, r)).collect())
            })?,
        ),
        (&M::GET, ["networksecuritygroups", _, "securityrules", _]) => json_ok(
            StatusCode::OK,
            &e.read(|s| network::get_rule(s, c, (sub, rg, n(1), n(3))).map(|(g, r)| network::render_rule(&g.id, &r)))?,
        ),
        (&M::PUT, ["networksecuritygroups", _, "securityrules", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (g, r, new) = write(app, c, |s, b| network::put_rule(s, b, c, (sub, rg, n(1), n(3)), spec))?;
            json_ok(created(new), &network::render_rule(&g.id, &r))
        }
        (&M::DELETE, ["networksecuritygroups", _, "securityrules", _]) => {
            deleted(write(app, c, |s, b| network::delete_rule(s, b, c, (sub, rg, n(1), n(3))))?)
        }
        // private endpoints and their zone groups
        (&M::GET, ["privateendpoints", _]) => json_ok(
            StatusCode::OK,
            &e.read(|s| privatelink::get_endpoint(s, c, (sub, rg, n(1))).map(|x| privatelink::render_endpoint(s, &x)))?,
        ),
        (&M::PUT, ["privateendpoints", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (x, new) = write_then(
                app,
                c,
                |s, b| privatelink::put_endpoint(s, b, c, (sub, rg, n(1)), spec),
                |s, (x, new)| (privatelink::render_endpoint(s, &x), new),
            )?;
            json_ok(created(new), &x)
        }
        (&M::DELETE, ["privateendpoints", _]) => {
            deleted(write(app, c, |s, b| privatelink::delete_endpoint(s, b, c, (sub, rg, n(1))))?)
        }
        (&M::GET, ["privateendpoints", _, "privatednszonegroups"]) => list(
            req,
            c,
            e.read(|s| {
                zonegroups::list(s, c, (sub, rg, n(1))).map(|gs| gs.iter().map(|g| zonegroups::render(s, g)).collect())
            })?,
        ),
        (&M::GET, ["privateendpoints", _, "privatednszonegroups", _]) => json_ok(
            StatusCode::OK,
            &e.read(|s| zonegroups::get(s, c, (sub, rg, n(1), n(3))).map(|g| zonegroups::render(s, &g)))?,
        ),
        (&M::PUT, ["privateendpoints", _, "privatednszonegroups", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (x, new) = write_then(
                app,
                c,
                |s, b| zonegroups::put(s, b, c, (sub, rg, n(1), n(3)), spec),
                |s, (x, new)| (zonegroups::render(s, &x), new),
            )?;
            json_ok(created(new), &x)
        }
        (&M::DELETE, ["privateendpoints", _, "privatednszonegroups", _]) => {
            deleted(write(app, c, |s, b| zonegroups::delete(s, b, c, (sub, rg, n(1), n(3))))?)
        }
        // DNS Private Resolver (minimal) and its inbound endpoints
        (&M::GET, ["dnsresolvers", _]) => {
            json_ok(StatusCode::OK, &onprem::render_resolver(&e.read(|s| onprem::get_resolver(s, c, (sub, rg, n(1))))?))
        }
        (&M::PUT, ["dnsresolvers", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (r, new) = write(app, c, |s, b| onprem::put_resolver(s, b, c, (sub, rg, n(1)), spec))?;
            json_ok(created(new), &onprem::render_resolver(&r))
        }
        (&M::DELETE, ["dnsresolvers", _]) => {
            deleted(write(app, c, |s, b| onprem::delete_resolver(s, b, c, (sub, rg, n(1))))?)
        }
        (&M::GET, ["dnsresolvers", _, "inboundendpoints", _]) => json_ok(
            StatusCode::OK,
            &onprem::render_inbound(&e.read(|s| onprem::get_inbound(s, c, (sub, rg, n(1), n(3))))?),
        ),
        (&M::PUT, ["dnsresolvers", _, "inboundendpoints", _]) => {
            let spec = parse_body(req, Provider::Network)?;
            let (x, new) = write(app, c, |s, b| onprem::put_inbound(s, b, c, (sub, rg, n(1), n(3)), spec))?;
            json_ok(created(new), &onprem::render_inbound(&x))
        }
        // private DNS zones, links, record sets
        (_, ["privatednszones", _, rest @ ..]) => zones::dns_routes(app, req, (sub, rg, n(1)), rest, p, c)?,
        _ => return Err(no_route(req)),
    })
}

/// Lists one Microsoft.Network resource kind in a scope.
pub(super) fn list_network(e: &vaultlink_core::Engine, scope: &str, kind: &str) -> Result<Vec<Value>> {
    use vaultlink_core::model::Record as R;
    e.read(|s| {
        Ok(match kind {
            "virtualnetworks" => network::list_in(s, scope, |r| if let R::VirtualNetwork(v) = r { Some(network::render_vnet(s, v)) } else { None }),
            "networkinterfaces" => network::list_in(s, scope, |r| if let R::NetworkInterface(v) = r { Some(compute::render_nic(s, v)) } else { None }),
            "publicipaddresses" => network::list_in(s, scope, |r| if let R::PublicIpAddress(v) = r { Some(network::render_public_ip(s, v)) } else { None }),
            "networksecuritygroups" => network::list_in(s, scope, |r| if let R::NetworkSecurityGroup(v) = r { Some(network::render_nsg(s, v)) } else { None }),
            "privateendpoints" => network::list_in(s, scope, |r| if let R::PrivateEndpoint(v) = r { Some(privatelink::render_endpoint(s, v)) } else { None }),
            "privatednszones" => network::list_in(s, scope, |r| if let R::PrivateDnsZone(v) = r { Some(privatedns::render_zone(s, v)) } else { None }),
            other => return Err(Error::bad_request("NoRegisteredProviderFound", format!("No registered resource provider found for resource type '{other}' in namespace 'Microsoft.Network'."))),
        })
    })
}
