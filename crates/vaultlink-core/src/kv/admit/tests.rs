use serde_json::json;

use super::*;
use crate::kv::{CertificateOp, KeyOp, SecretOp, TxClass};
use crate::seed;
use crate::testing::{vault, world};

const SECRETS_USER: &str = "4633458b-17de-408a-b874-0445c86b69e6";
const SECRETS_OFFICER: &str = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";

/// A new principal with no role and no access policy.
fn newcomer(e: &crate::Engine) -> crate::model::Principal {
    identity::add_principal(e, "newcomer").unwrap().0
}

fn token(p: &crate::model::Principal, audience: &str) -> Map<String, Value> {
    identity::access_token_claims(p, audience, 0).as_object().cloned().unwrap()
}

fn internet() -> NetworkContext {
    NetworkContext::internet(seed::DEFAULT_PUBLIC_ADDRESS.parse().unwrap())
}

fn ask<'r>(
    vault: &'r str,
    claims: &'r Map<String, Value>,
    context: &'r NetworkContext,
    throttle: &'r Throttle,
) -> Ask<'r> {
    Ask { vault, claims, context, api_version: Some("7.4"), throttle }
}

const GET: Operation = Operation::Secret(SecretOp::Get);

#[test]
fn refusals_come_in_key_vaults_order() {
    let e = world();
    vault(&e, "rbac1", json!({"enableRbacAuthorization": true}));
    vault(&e, "foreign1", json!({"tenantId": "11111111-2222-4333-8444-555555555555"}));
    vault(&e, "closed1", json!({"enableRbacAuthorization": true, "publicNetworkAccess": "Disabled"}));
    let p = newcomer(&e);
    let (ctx, throttle) = (internet(), Throttle::new(true));
    let claims = token(&p, identity::VAULT_AUDIENCE);
    let refused = |a: Ask<'_>, op: Operation| e.read(|s| admit(s, &a, op, Some("s1"))).unwrap_err();

    let arm = token(&p, "https://management.azure.com/");
    let r = refused(ask("rbac1", &arm, &ctx, &throttle), GET);
    assert_eq!(r.kind, Kind::Unauthorized);
    assert!(r.message.starts_with("AKV10022: Invalid audience"), "{}", r.message);

    let r = refused(ask("foreign1", &claims, &ctx, &throttle), GET);
    assert_eq!(r.kind, Kind::Unauthorized);
    assert!(r.message.starts_with("AKV10032: Invalid issuer"), "{}", r.message);

    let r = refused(Ask { api_version: None, ..ask("rbac1", &claims, &ctx, &throttle) }, GET);
    assert_eq!((r.kind, r.code.as_str()), (Kind::BadRequest, "BadParameter"));

    let r = refused(ask("closed1", &claims, &ctx, &throttle), GET);
    assert_eq!(r.kind, Kind::Forbidden);
    assert_ne!(r.inner.as_deref(), Some("ForbiddenByRbac"), "the network refuses before the roles are read");

    let r = refused(ask("rbac1", &claims, &ctx, &throttle), GET);
    assert_eq!((r.kind, r.inner.as_deref()), (Kind::Forbidden, Some("ForbiddenByRbac")));
    assert!(r.message.contains("Microsoft.KeyVault/vaults/secrets/getSecret/action"), "{}", r.message);

    let r = refused(ask("missing1", &claims, &ctx, &throttle), GET);
    assert_eq!((r.kind, r.code.as_str()), (Kind::NotFound, "VaultNotFound"));

    // A refused caller spends none of the vault's budget (issue 16: a principal without access
    // could otherwise throttle the vault's owner): past the create limit in refusals, the owner
    // still creates; the owner's own requests do count.
    for _ in 0..Throttle::CREATE_LIMIT + 10 {
        assert_eq!(
            refused(ask("rbac1", &claims, &ctx, &throttle), Operation::Secret(SecretOp::Set)).kind,
            Kind::Forbidden
        );
    }
    let officer = identity::add_principal(&e, "officer").unwrap().0;
    let spec = crate::wire::parse(json!({"properties": {
        "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_OFFICER}"),
        "principalId": officer.object_id}}))
    .unwrap();
    let scope = format!(
        "/subscriptions/{}/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/rbac1",
        seed::SUBSCRIPTION_ID
    );
    e.write(|s, b| {
        rbac::put_assignment(s, b, &crate::testing::developer(), &scope, "6c1f0e2d-3a4b-4c5d-8e6f-7a8b9c0d1e2f", spec)
    })
    .unwrap();
    let owner = token(&officer, identity::VAULT_AUDIENCE);
    let set = Operation::Secret(SecretOp::Set);
    for _ in 0..Throttle::CREATE_LIMIT {
        e.read(|s| admit(s, &ask("rbac1", &owner, &ctx, &throttle), set, Some("s1"))).unwrap();
    }
    let r = e.read(|s| admit(s, &ask("rbac1", &owner, &ctx, &throttle), set, Some("s1"))).unwrap_err();
    assert_eq!(r.kind, Kind::TooManyRequests);
    // Unserved requests pass the same gate first.
    let r = e.read(|s| refuse_unserved(s, &ask("rbac1", &arm, &ctx, &throttle), "GET", "/nothing"));
    assert_eq!(r.kind, Kind::Unauthorized);
    let r = e.read(|s| refuse_unserved(s, &ask("rbac1", &claims, &ctx, &throttle), "GET", "/nothing"));
    assert_eq!((r.kind, r.message.as_str()), (Kind::BadRequest, "vaultlink does not serve GET /nothing."));
}

#[test]
fn an_object_scoped_role_admits_that_object_only() {
    let e = world();
    let v = vault(&e, "rbac2", json!({"enableRbacAuthorization": true}));
    let p = newcomer(&e);
    let spec = crate::wire::parse(json!({"properties": {
        "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER}"),
        "principalId": p.object_id}}))
    .unwrap();
    let scope = format!("{}/secrets/s1", v.id);
    e.write(|s, b| {
        rbac::put_assignment(s, b, &crate::testing::developer(), &scope, "5b0f6e1c-1d2e-4f3a-9b4c-5d6e7f8a9b0c", spec)
    })
    .unwrap();
    let (claims, ctx, throttle) = (token(&p, identity::VAULT_AUDIENCE), internet(), Throttle::new(false));
    let a = ask("rbac2", &claims, &ctx, &throttle);
    let admitted = e.read(|s| admit(s, &a, GET, Some("S1"))).unwrap();
    assert_eq!((admitted.name.as_str(), admitted.operation()), ("rbac2", GET));
    assert_eq!(admitted.caller().object_id, p.object_id);
    assert_eq!(e.read(|s| admit(s, &a, GET, Some("s2"))).unwrap_err().kind, Kind::Forbidden);
    // A list is asked of the vault, whatever name the route carried.
    let list = Operation::Secret(SecretOp::List);
    assert_eq!(e.read(|s| admit(s, &a, list, Some("s1"))).unwrap_err().kind, Kind::Forbidden);
}

#[test]
fn manageissuers_covers_every_issuer_operation_and_refusals_name_the_first() {
    let e = world();
    let p = newcomer(&e);
    let policy = |perms: &[&str]| {
        json!({"enableRbacAuthorization": false, "accessPolicies": [{"tenantId": seed::TENANT_ID,
            "objectId": p.object_id, "permissions": {"certificates": perms}}]})
    };
    vault(&e, "pol1", policy(&["manageissuers"]));
    vault(&e, "pol2", policy(&["getissuers"]));
    let (claims, ctx, throttle) = (token(&p, identity::VAULT_AUDIENCE), internet(), Throttle::new(false));
    use CertificateOp as C;
    for op in [C::GetIssuer, C::ListIssuers, C::SetIssuer, C::DeleteIssuer] {
        e.read(|s| admit(s, &ask("pol1", &claims, &ctx, &throttle), Operation::Certificate(op), Some("i1"))).unwrap();
    }
    let r = e
        .read(|s| admit(s, &ask("pol1", &claims, &ctx, &throttle), Operation::Certificate(C::Get), Some("c1")))
        .unwrap_err();
    assert!(r.message.contains("does not have certificates get permission"), "{}", r.message);
    let a = ask("pol2", &claims, &ctx, &throttle);
    e.read(|s| admit(s, &a, Operation::Certificate(C::GetIssuer), None)).unwrap();
    let r = e.read(|s| admit(s, &a, Operation::Certificate(C::SetIssuer), None)).unwrap_err();
    assert_eq!(r.inner.as_deref(), Some("AccessDenied"));
    assert!(r.message.contains("does not have certificates setissuers permission"), "{}", r.message);
}

#[test]
fn each_operation_says_its_budget_and_whether_it_only_reads() {
    let create = [
        Operation::Secret(SecretOp::Set),
        Operation::Key(KeyOp::Create),
        Operation::Key(KeyOp::Import),
        Operation::Certificate(CertificateOp::Import),
    ];
    for op in create {
        assert_eq!(op.class(), TxClass::Create, "{op:?}");
        assert!(!op.only_reads(), "{op:?}");
    }
    assert_eq!(Operation::Certificate(CertificateOp::Create).class(), TxClass::Other);
    for op in [KeyOp::Sign, KeyOp::Verify, KeyOp::Encrypt, KeyOp::Decrypt, KeyOp::WrapKey, KeyOp::UnwrapKey] {
        assert!(Operation::Key(op).only_reads(), "{op:?}");
    }
    assert!(!Operation::Key(KeyOp::Rotate).only_reads());
    assert!(!Operation::Secret(SecretOp::Deleted(crate::kv::DeletedOp::Purge)).only_reads());
    assert_eq!(Operation::Key(KeyOp::WrapKey).permission().policy, ("keys", "wrapKey"));
    assert_eq!(
        Operation::Secret(SecretOp::Deleted(crate::kv::DeletedOp::Get)).permission().data_action,
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
    );
}
