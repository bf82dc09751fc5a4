use super::*;

#[test]
fn wildcards_span_segments_and_ignore_case() {
    assert!(action_matches("Microsoft.KeyVault/vaults/*", "Microsoft.KeyVault/vaults/secrets/getSecret/action"));
    assert!(action_matches("Microsoft.KeyVault/vaults/*/read", "microsoft.keyvault/vaults/keys/read"));
    assert!(!action_matches("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/getSecret/action"));
    assert!(!action_matches("Microsoft.KeyVault/vaults/secrets/*", "Microsoft.KeyVault/vaults/keys/read"));
}

#[test]
fn scopes_cover_their_descendants_only() {
    assert!(scope_covers(
        "/subscriptions/s",
        "/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/v"
    ));
    assert!(scope_covers("/SUBSCRIPTIONS/s/resourceGroups/RG", "/subscriptions/s/resourcegroups/rg"));
    assert!(!scope_covers("/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourceGroups/rg2"));
    assert!(scope_covers("/", "/subscriptions/s"));
    assert!(scope_covers("/subscriptions/s/", "/subscriptions/S"));
    assert!(!scope_covers("/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourceGroups"));
    assert!(!scope_covers("/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourceGroups/rgé"));
    assert!(!scope_covers("/subscriptions/é", "/subscriptions/e"));
}

fn assign(e: &crate::Engine, principal: &str, role_id: &str, scope: &str) {
    let spec =
        crate::wire::parse(json!({"properties": {"roleDefinitionId": role_id, "principalId": principal}})).unwrap();
    let name = uuid::Uuid::new_v4().to_string();
    e.write(|s, b| put_assignment(s, b, &crate::testing::developer(), scope, &name, spec)).unwrap();
}

/// A new principal with no role, and the caller it is.
fn new_principal(e: &crate::Engine, name: &str) -> (crate::model::Principal, Caller) {
    let (p, _) = identity::add_principal(e, name).unwrap();
    let c = Caller { tenant_id: p.tenant_id.clone(), object_id: p.object_id.clone(), app_id: p.app_id.clone() };
    (p, c)
}

fn arm(method: &str, path: &str, body: Option<Value>) -> Option<ArmOperation> {
    crate::armops::operation(method, path, body.as_ref())
}

const NETWORK_CONTRIBUTOR: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";

#[test]
fn control_plane_refuses_a_principal_without_roles_with_arms_body() {
    let e = crate::testing::world();
    let (p, c) = new_principal(&e, "nobody");
    let rg = format!("/subscriptions/{}/resourceGroups/rg1", seed::SUBSCRIPTION_ID);
    let ra = format!("/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments/x", seed::SUBSCRIPTION_ID);
    e.read(|s| {
        let err = admit(s, c.clone(), arm("PUT", &ra, None)).unwrap_err();
        assert_eq!(err.code(), "AuthorizationFailed");
        assert_eq!(
            err.to_string(),
            format!(
                "AuthorizationFailed: The client '{}' with object id '{}' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '{ra}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                p.app_id, p.object_id
            )
        );
        assert!(admit(s, c.clone(), arm("GET", &rg, None)).is_err());
        assert!(admit(s, c.clone(), None).is_ok());
        // The developer (Owner on the subscription) may do both.
        assert!(admit(s, crate::testing::developer(), arm("PUT", &ra, None)).is_ok());
    });
}

#[test]
fn contributor_cannot_assign_roles_and_not_actions_only_subtract_from_their_role() {
    let e = crate::testing::world();
    let (p, c) = new_principal(&e, "contrib");
    let sub = format!("/subscriptions/{}", seed::SUBSCRIPTION_ID);
    assign(&e, &p.object_id, "b24988ac-6180-42a0-ab88-20f7382dd24c", &sub);
    let ra = format!("{sub}/providers/Microsoft.Authorization/roleAssignments/x");
    let vault = format!("{sub}/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/v1");
    e.read(|s| {
        assert!(admit(s, c.clone(), arm("PUT", &vault, None)).is_ok());
        assert_eq!(admit(s, c.clone(), arm("PUT", &ra, None)).unwrap_err().code(), "AuthorizationFailed");
    });
    // Another role that grants it lifts the refusal.
    assign(&e, &p.object_id, "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", &sub);
    e.read(|s| assert!(admit(s, c.clone(), arm("PUT", &ra, None)).is_ok()));
}

#[test]
fn network_contributor_without_the_vault_gets_linked_authorization_failed_for_auto_approval() {
    let e = crate::testing::world();
    let (p, c) = new_principal(&e, "net");
    let rg = format!("/subscriptions/{}/resourceGroups/rg1", seed::SUBSCRIPTION_ID);
    assign(&e, &p.object_id, NETWORK_CONTRIBUTOR, &rg);
    let subnet = format!("{rg}/providers/Microsoft.Network/virtualNetworks/v/subnets/s");
    let vault =
        format!("/subscriptions/{}/resourceGroups/other/providers/Microsoft.KeyVault/vaults/kv", seed::SUBSCRIPTION_ID);
    let pe = format!("{rg}/providers/Microsoft.Network/privateEndpoints/pe");
    let body = |kind: &str| json!({"properties": {"subnet": {"id": subnet}, kind: [{"properties": {"privateLinkServiceId": vault}}]}});
    e.read(|s| {
        let err = admit(s, c.clone(), arm("PUT", &pe, Some(body("privateLinkServiceConnections")))).unwrap_err();
        assert_eq!(err.code(), "LinkedAuthorizationFailed");
        assert!(err.to_string().contains(&format!(
            "has permission to perform action 'Microsoft.Network/privateEndpoints/write' on scope '{pe}'; however, it does not have permission to perform action(s) 'Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action' on the linked scope(s) '{vault}' (respectively)"
        )), "{err}");
        assert!(admit(s, c.clone(), arm("PUT", &pe, Some(body("manualPrivateLinkServiceConnections")))).is_ok());
        // Nor may it approve the connection on the vault.
        let pec = format!("{vault}/privateEndpointConnections/pe.1");
        assert!(admit(s, c.clone(), arm("PUT", &pec, None)).is_err());
    });
}

#[test]
fn a_list_shows_a_caller_with_a_narrower_role_only_what_it_may_read() {
    let e = crate::testing::world();
    let (p, c) = new_principal(&e, "reader");
    let sub = format!("/subscriptions/{}", seed::SUBSCRIPTION_ID);
    assign(&e, &p.object_id, "acdd72a7-3385-48ef-bd42-f606fba81ae7", &format!("{sub}/resourceGroups/rg1"));
    e.read(|s| {
        let a = admit(s, c.clone(), arm("GET", &format!("{sub}/resourcegroups"), None)).unwrap();
        assert!(a.may_read(&format!("{sub}/resourceGroups/RG1")));
        assert!(!a.may_read(&format!("{sub}/resourceGroups/rg2")));
        assert!(admit(s, c.clone(), arm("GET", &format!("{sub}/resourceGroups/rg2"), None)).is_err());
        assert!(admit(s, c.clone(), arm("PUT", &format!("{sub}/resourceGroups/rg1"), None)).is_err());
        // The subscription is listed: the principal holds a role inside it.
        assert_eq!(crate::resources::subscriptions(s, &c).len(), 1);
        let (nobody, _) = (Caller { object_id: "00000000-0000-0000-0000-000000000000".into(), ..c.clone() }, ());
        assert!(crate::resources::subscriptions(s, &nobody).is_empty());
    });
}

#[test]
fn secrets_user_reads_but_cannot_write() {
    let r = role("4633458b-17de-408a-b874-0445c86b69e6").unwrap();
    let can = |a: &str| r.data_actions.iter().any(|p| action_matches(p, a));
    assert!(can("Microsoft.KeyVault/vaults/secrets/getSecret/action"));
    assert!(!can("Microsoft.KeyVault/vaults/secrets/setSecret/action"));
}

#[test]
fn custom_roles_grant_what_they_list_where_they_are_assignable() {
    let e = crate::testing::world();
    let dev = crate::testing::developer();
    let (p, c) = new_principal(&e, "dns-operator");
    let rg = format!("/subscriptions/{}/resourceGroups/rg1", seed::SUBSCRIPTION_ID);
    let guid = "11111111-2222-4333-8444-555555555555";
    let spec = |name: &str| {
        crate::wire::parse(json!({"properties": {"roleName": name, "type": "CustomRole",
            "permissions": [{"actions": ["Microsoft.Network/privateDnsZones/*"], "notActions": ["Microsoft.Network/privateDnsZones/delete"]}],
            "assignableScopes": [rg]}}))
        .unwrap()
    };
    let (r, created) = e.write(|s, b| custom::put(s, b, &dev, guid, spec("DNS Operator"))).unwrap();
    assert!(created && r.role_name == "DNS Operator");
    // Names are unique in the directory, built-in ones included.
    let other = "11111111-2222-4333-8444-666666666666";
    let err = e.write(|s, b| custom::put(s, b, &dev, other, spec("dns operator"))).unwrap_err();
    assert_eq!(err.code(), "RoleDefinitionWithSameNameExists");
    assert_eq!(
        e.write(|s, b| custom::put(s, b, &dev, other, spec("Reader"))).unwrap_err().code(),
        "RoleDefinitionWithSameNameExists"
    );
    // Assignable only at or below its assignable scopes.
    let at_sub =
        crate::wire::parse(json!({"properties": {"roleDefinitionId": guid, "principalId": p.object_id}})).unwrap();
    let sub = format!("/subscriptions/{}", seed::SUBSCRIPTION_ID);
    let err =
        e.write(|s, b| put_assignment(s, b, &dev, &sub, "a1b2c3d4-0000-4000-8000-000000000001", at_sub)).unwrap_err();
    assert_eq!(err.code(), "InvalidRoleDefinitionScope");
    assign(&e, &p.object_id, guid, &rg);
    let zone = format!("{rg}/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net");
    e.read(|s| {
        assert!(admit(s, c.clone(), arm("PUT", &zone, None)).is_ok());
        assert!(admit(s, c.clone(), arm("PUT", &format!("{zone}/A/kv1"), None)).is_ok());
        assert_eq!(admit(s, c.clone(), arm("DELETE", &zone, None)).unwrap_err().code(), "AuthorizationFailed");
        let vnet = format!("{rg}/providers/Microsoft.Network/virtualNetworks/v");
        assert!(admit(s, c.clone(), arm("PUT", &vnet, None)).is_err());
        assert!(list_role_definitions(s, &rg, Some("type eq 'CustomRole'")).len() == 1);
        assert!(list_role_definitions(s, &rg, Some("roleName eq 'DNS Operator'")).len() == 1);
    });
    // In use, it cannot be deleted.
    assert_eq!(e.write(|s, b| custom::delete(s, b, guid)).unwrap_err().code(), "RoleDefinitionHasAssignments");
    assert_eq!(e.write(|s, b| custom::delete(s, b, OWNER)).unwrap_err().code(), "RoleDefinitionUpdateNotPermitted");
}

#[test]
fn arm_secret_writes_follow_the_control_plane_roles_not_the_data_plane_ones() {
    let e = crate::testing::world();
    let rg = format!("/subscriptions/{}/resourceGroups/rg1", seed::SUBSCRIPTION_ID);
    let secret = format!("{rg}/providers/Microsoft.KeyVault/vaults/kv1/secrets/s1");
    let secrets = format!("{rg}/providers/Microsoft.KeyVault/vaults/kv1/secrets");
    let put = || arm("PUT", &secret, Some(json!({"properties": {"value": "x"}})));
    // (role, may write, may read): Key Vault Contributor holds `Microsoft.KeyVault/*`; Reader
    // `*/read`; Key Vault Secrets Officer `vaults/*/read` and the secrets' data actions, which ARM
    // does not count; Key Vault Secrets User data actions only.
    for (role_id, writes, reads) in [
        ("f25e0fa2-a7c8-4377-a976-54943a77a395", true, true),
        ("acdd72a7-3385-48ef-bd42-f606fba81ae7", false, true),
        ("b86a8fe4-44ce-4948-aee5-eccb2c155cd7", false, true),
        ("4633458b-17de-408a-b874-0445c86b69e6", false, false),
    ] {
        let (p, c) = new_principal(&e, &format!("p-{role_id}"));
        assign(&e, &p.object_id, role_id, &rg);
        e.read(|s| {
            let w = admit(s, c.clone(), put());
            assert_eq!(w.is_ok(), writes, "{role_id} write");
            if !writes {
                assert!(w.unwrap_err().to_string().contains("'Microsoft.KeyVault/vaults/secrets/write'"));
            }
            assert_eq!(admit(s, c.clone(), arm("GET", &secret, None)).is_ok(), reads, "{role_id} read");
            assert_eq!(admit(s, c.clone(), arm("GET", &secrets, None)).is_ok(), reads, "{role_id} list");
        });
    }
}
