//! Tests of tenants, sign-in, token claims and directory writes.

use super::*;
use crate::engine::Engine;
use crate::model::Record;
use crate::seed;

fn engine() -> Engine {
    let e = Engine::open(Box::new(vaultlink_store::MemoryStore)).unwrap();
    crate::bootstrap::seed(&e).unwrap();
    e
}

#[test]
fn seeded_developer_authenticates_and_a_wrong_secret_is_invalid_client() {
    let e = engine();
    let p = authenticate(&e, seed::TENANT_ID, seed::DEV_CLIENT_ID, seed::DEV_CLIENT_SECRET).unwrap();
    assert_eq!(p.object_id, seed::DEV_OBJECT_ID);
    let err = authenticate(&e, seed::TENANT_ID, seed::DEV_CLIENT_ID, "nope").unwrap_err();
    assert_eq!((err.status, err.error), (401, "invalid_client"));
    assert!(err.description.starts_with("AADSTS7000215"));
    let err = authenticate(&e, seed::TENANT_ID, "00000000-0000-0000-0000-000000000000", "x").unwrap_err();
    assert_eq!(err.error, "unauthorized_client");
    // A managed identity has no secret: client credentials never work for it.
    assert!(authenticate(&e, seed::TENANT_ID, seed::MI_CLIENT_ID, "").is_err());
}

#[test]
fn added_principal_gets_a_working_secret() {
    let e = engine();
    let (p, secret) = add_principal(&e, "app2").unwrap();
    assert_eq!(authenticate(&e, "common", &p.app_id, &secret).unwrap().object_id, p.object_id);
}

#[test]
fn scope_to_resource_keeps_the_double_slash_meaning() {
    assert_eq!(
        resource_from_scope("https://management.core.windows.net//.default").as_deref(),
        Some("https://management.core.windows.net/")
    );
    assert_eq!(resource_from_scope("https://vault.azure.net/.default").as_deref(), Some("https://vault.azure.net"));
    assert_eq!(resource_from_scope("openid"), None);
}

#[test]
fn tokens_are_issued_only_for_served_resources() {
    let direct = vec!["https://localhost:8743/".to_string()];
    for ok in ["https://management.azure.com/", "https://VAULT.azure.net", "https://localhost:8743/"] {
        assert!(served_resource(ok, &direct).is_ok(), "{ok}");
    }
    let e = served_resource("https://evil.example/", &direct).unwrap_err();
    assert_eq!((e.status, e.error, e.codes.as_slice()), (400, "invalid_resource", &[500011][..]));
    assert!(e.description.starts_with("AADSTS500011: The resource principal named https://evil.example/ "));
    assert!(served_resource("https://localhost:9999/", &direct).is_err());
}

#[test]
fn wrong_audience_is_refused() {
    let e = engine();
    e.read(|s| {
        let p = principal(s, seed::DEV_CLIENT_ID).unwrap();
        let claims = access_token_claims(&p, VAULT_AUDIENCE, 0);
        let map = claims.as_object().unwrap();
        assert!(caller_from_claims(s, map, ARM_AUDIENCES).is_err());
        assert_eq!(caller_from_claims(s, map, &[VAULT_AUDIENCE]).unwrap().object_id, seed::DEV_OBJECT_ID);
    });
}

fn developer() -> Caller {
    crate::testing::developer()
}

#[test]
fn a_second_tenant_signs_in_only_there_and_its_tokens_name_it() {
    let e = engine();
    let added = add_tenant(&e, "contoso").unwrap();
    assert_eq!(added.tenant.default_domain, "contoso.onmicrosoft.com");
    let tid = added.tenant.tenant_id.clone();
    // By id, by domain, and by `organizations` (its home); not in the default tenant.
    for t in [tid.as_str(), "contoso.onmicrosoft.com", "organizations"] {
        let p = authenticate(&e, t, &added.admin.app_id, &added.secret).unwrap();
        assert_eq!(p.tenant_id, tid, "{t}");
    }
    let err = authenticate(&e, seed::TENANT_ID, &added.admin.app_id, &added.secret).unwrap_err();
    assert_eq!(err.codes, vec![700016]);
    assert!(err.description.contains(seed::TENANT_ID));
    let err = authenticate(&e, "00000000-1111-2222-3333-444444444444", &added.admin.app_id, &added.secret).unwrap_err();
    assert_eq!(err.codes, vec![90002]);
    e.read(|s| {
        // A token of tenant B names its principal only in B: a forged `tid` finds nobody.
        let mut claims = access_token_claims(&added.admin, ARM_AUDIENCES[0], 0);
        let map = claims.as_object().unwrap().clone();
        assert_eq!(caller_from_claims(s, &map, ARM_AUDIENCES).unwrap().tenant_id, tid);
        claims["tid"] = seed::TENANT_ID.into();
        assert!(caller_from_claims(s, claims.as_object().unwrap(), ARM_AUDIENCES).is_err(), "iss and tid disagree");
        claims["iss"] = format!("https://sts.windows.net/{}/", seed::TENANT_ID).into();
        assert!(caller_from_claims(s, claims.as_object().unwrap(), ARM_AUDIENCES).is_err(), "not in that tenant");
    });
    assert_eq!(add_tenant(&e, "Contoso").err().map(|e| e.code().to_string()).as_deref(), Some("TenantExists"));
    assert_eq!(add_tenant(&e, "bad name").err().map(|e| e.code().to_string()).as_deref(), Some("Request_BadRequest"));
}

#[test]
fn users_are_created_by_administrators_and_sign_in_with_their_password() {
    let e = engine();
    let dev = developer();
    let new = |upn: &str, pw: &str| NewUser::new(upn, "Ann", "ann", pw, true);
    assert_eq!(new("ann@vaultlink.onmicrosoft.com", "short1A").err().unwrap().code(), "Request_BadRequest");
    assert!(new("ann@vaultlink.onmicrosoft.com", "alllowercase").is_err(), "one class only");
    let ann =
        e.write(|s, b| create_user(s, b, &dev, new("ann@vaultlink.onmicrosoft.com", "Secr3t-pass").unwrap())).unwrap();
    assert_eq!(ann.app_id, "ann@vaultlink.onmicrosoft.com");
    // The password is stored hashed, never as text.
    let stored =
        e.read(|s| serde_json::to_string(&s.get(&principal_key(seed::TENANT_ID, &ann.object_id)).cloned()).unwrap());
    assert!(!stored.contains("Secr3t-pass") && stored.contains("pbkdf2-sha256$"));
    let again = e.write(|s, b| create_user(s, b, &dev, new("ANN@vaultlink.onmicrosoft.com", "Secr3t-pass").unwrap()));
    assert!(
        again.unwrap_err().to_string().contains("Another object with the same value for property userPrincipalName")
    );
    let foreign = e.write(|s, b| create_user(s, b, &dev, new("bob@example.com", "Secr3t-pass").unwrap()));
    assert!(foreign.unwrap_err().to_string().contains("verified domain names"));
    // Sign-in: the right password, by any tenant alias; Entra's errors otherwise.
    for t in ["organizations", seed::TENANT_ID, "vaultlink.onmicrosoft.com"] {
        assert_eq!(
            authenticate_user(&e, t, "ann@vaultlink.onmicrosoft.com", "Secr3t-pass").unwrap().object_id,
            ann.object_id
        );
    }
    assert_eq!(
        authenticate_user(&e, "common", "ann@vaultlink.onmicrosoft.com", "wrong").unwrap_err().codes,
        vec![50126]
    );
    assert_eq!(
        authenticate_user(&e, "common", "nobody@vaultlink.onmicrosoft.com", "x").unwrap_err().codes,
        vec![50034]
    );
    // A user's token names the user; a user is no administrator, so it cannot create users.
    let claims = user_access_token_claims(&ann, ARM_AUDIENCES[0], "04b07795-8ddb-461a-bbee-02f9e1bf7b46", 0);
    let caller = e.read(|s| caller_from_claims(s, claims.as_object().unwrap(), ARM_AUDIENCES)).unwrap();
    assert_eq!(
        (caller.object_id.as_str(), caller.app_id.as_str()),
        (ann.object_id.as_str(), "ann@vaultlink.onmicrosoft.com")
    );
    let denied =
        e.write(|s, b| create_user(s, b, &caller, new("cy@vaultlink.onmicrosoft.com", "Secr3t-pass").unwrap()));
    assert_eq!(denied.unwrap_err().code(), "Authorization_RequestDenied");
}

#[test]
fn an_application_gets_secrets_and_a_service_principal_that_signs_in() {
    let e = engine();
    let dev = developer();
    let app = e.write(|s, b| create_application(s, b, &dev, "rbac-app", None)).unwrap();
    let (cred, secret) = e
        .write(|s, b| add_password(s, b, &dev, &app.object_id, NewSecret::new(Some("rbac".into())), None, None))
        .unwrap();
    assert_eq!((secret.len(), &secret[..3], &secret[3..6]), (40, cred.hint.as_str(), "8Q~"));
    // No service principal yet: the app cannot sign in.
    assert_eq!(authenticate(&e, seed::TENANT_ID, &app.app_id, &secret).unwrap_err().codes, vec![700016]);
    let sp = e.write(|s, b| create_service_principal(s, b, &dev, &app.app_id)).unwrap();
    assert_eq!(authenticate(&e, seed::TENANT_ID, &app.app_id, &secret).unwrap().object_id, sp.object_id);
    let twice = e.write(|s, b| create_service_principal(s, b, &dev, &app.app_id)).unwrap_err();
    assert_eq!(twice.code(), "Request_MultipleObjectsWithSameKeyValue");
    // The new service principal is no administrator and owns nothing: it cannot add secrets.
    let as_sp = Caller::of(&sp);
    assert_eq!(
        e.write(|s, b| add_password(s, b, &as_sp, &app.app_id, NewSecret::new(None), None, None)).unwrap_err().code(),
        "Authorization_RequestDenied"
    );
    assert_eq!(
        e.write(|s, b| create_application(s, b, &as_sp, "x", None)).unwrap_err().code(),
        "Authorization_RequestDenied"
    );
    // Removing the secret ends its sign-ins; an unknown application is Graph's 400.
    e.write(|s, b| remove_password(s, b, &dev, &app.object_id, &cred.key_id)).unwrap();
    assert_eq!(authenticate(&e, seed::TENANT_ID, &app.app_id, &secret).unwrap_err().codes, vec![7000215]);
    let missing = e.write(|s, b| create_service_principal(s, b, &dev, "00000000-0000-0000-0000-000000000009"));
    assert!(missing.unwrap_err().to_string().contains("does not reference a valid application object"));
}

#[test]
fn a_multi_tenant_application_gets_a_service_principal_in_another_tenant() {
    let e = engine();
    let b = add_tenant(&e, "fabrikam").unwrap();
    let admin_b = Caller::of(&b.admin);
    let (single, _) = add_principal(&e, "single").unwrap();
    let refused = e.write(|s, bt| create_service_principal(s, bt, &admin_b, &single.app_id)).unwrap_err();
    assert!(refused.to_string().contains("must in the local tenant"));
    let (multi, secret) = add_principal_in(&e, seed::TENANT_ID, "multi", true).unwrap();
    let guest = e.write(|s, bt| create_service_principal(s, bt, &admin_b, &multi.app_id)).unwrap();
    assert_ne!(guest.object_id, multi.object_id, "its own object in tenant B");
    assert_eq!(authenticate(&e, &b.tenant.tenant_id, &multi.app_id, &secret).unwrap().object_id, guest.object_id);
    assert_eq!(authenticate(&e, seed::TENANT_ID, &multi.app_id, &secret).unwrap().object_id, multi.object_id);
}

/// The stored JSON of one record.
fn stored(e: &Engine, key: &str) -> String {
    e.read(|s| serde_json::to_string(&s.get(key).cloned()).unwrap())
}

fn sha256_hex(secret: &str) -> String {
    vaultlink_crypto::sha256(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn client_secrets_are_stored_as_salted_argon2id_never_as_text_or_sha256() {
    let e = engine();
    let (p, secret) = add_principal(&e, "hashed").unwrap();
    let app = e.read(|s| application(s, &p.app_id)).unwrap();
    let cred = &app.password_credentials[0];
    let hash = cred.secret_hash.as_deref().unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(cred.secret_sha256.is_none());
    let json = stored(&e, &applications_key_of(&app.tenant_id, &app.app_id));
    assert!(!json.contains(&secret) && !json.contains(&sha256_hex(&secret)) && !json.contains("secretSha256"));
    // The seeded developer too.
    let dev = stored(&e, &principal_key(seed::TENANT_ID, seed::DEV_CLIENT_ID));
    assert!(
        dev.contains("\"secretHash\":\"$argon2id$") && !dev.contains(&sha256_hex(seed::DEV_CLIENT_SECRET)),
        "{dev}"
    );
    // Two secrets never share a salt.
    let (q, _) = add_principal(&e, "hashed2").unwrap();
    let other = e.read(|s| application(s, &q.app_id)).unwrap().password_credentials[0].secret_hash.clone().unwrap();
    assert_ne!(other.split('$').nth(4), hash.split('$').nth(4));
}

/// A state file from before Argon2id: records whose secrets are hex SHA-256, as they were written.
fn legacy_engine() -> (Engine, Principal, String, String) {
    let e = engine();
    let (p, secret) = add_principal(&e, "legacy").unwrap();
    let app_key = e.read(|s| application(s, &p.app_id).map(|a| applications_key_of(&a.tenant_id, &a.app_id))).unwrap();
    e.write(|s, b| -> crate::error::Result<()> {
        // The old shapes, through serde as an old state file is read (`secretSha256` only).
        let Some(Record::Application(a)) = s.get(&app_key).cloned() else { panic!("no application") };
        let mut json = serde_json::to_value(&a).unwrap();
        let cred = &mut json["passwordCredentials"][0];
        cred.as_object_mut().unwrap().remove("secretHash");
        cred["secretSha256"] = sha256_hex(&secret).into();
        b.put(&app_key, Record::Application(serde_json::from_value(json).unwrap()));
        let dev_key = principal_key(seed::TENANT_ID, seed::DEV_CLIENT_ID);
        let Some(Record::Principal(d)) = s.get(&dev_key).cloned() else { panic!("no developer") };
        let mut json = serde_json::to_value(&d).unwrap();
        json.as_object_mut().unwrap().remove("secretHash");
        json["secretSha256"] = sha256_hex(seed::DEV_CLIENT_SECRET).into();
        b.put(&dev_key, Record::Principal(serde_json::from_value(json).unwrap()));
        Ok(())
    })
    .unwrap();
    (e, p, secret, app_key)
}

#[test]
fn a_sha256_secret_of_an_older_state_file_signs_in_once_and_is_then_stored_as_argon2id() {
    let (e, p, secret, app_key) = legacy_engine();
    let dev_key = principal_key(seed::TENANT_ID, seed::DEV_CLIENT_ID);
    assert!(stored(&e, &app_key).contains(&sha256_hex(&secret)));
    assert!(stored(&e, &dev_key).contains(&sha256_hex(seed::DEV_CLIENT_SECRET)));
    // A wrong secret is refused and migrates nothing.
    assert_eq!(authenticate(&e, seed::TENANT_ID, &p.app_id, "wrong").unwrap_err().codes, vec![7000215]);
    assert!(stored(&e, &app_key).contains(&sha256_hex(&secret)));
    // The right one signs in, and its record now holds Argon2id and no SHA-256.
    assert_eq!(authenticate(&e, seed::TENANT_ID, &p.app_id, &secret).unwrap().object_id, p.object_id);
    let after = e.read(|s| application(s, &p.app_id)).unwrap();
    let cred = &after.password_credentials[0];
    assert!(cred.secret_sha256.is_none());
    let hash = cred.secret_hash.clone().unwrap();
    assert!(hash.starts_with("$argon2id$") && vaultlink_crypto::verify_secret(&secret, &hash));
    assert!(!stored(&e, &app_key).contains(&sha256_hex(&secret)));
    // The principal's own secret (the seeded developer's in an old data directory) likewise.
    authenticate(&e, seed::TENANT_ID, seed::DEV_CLIENT_ID, seed::DEV_CLIENT_SECRET).unwrap();
    let dev = e.read(|s| principal(s, seed::DEV_CLIENT_ID)).unwrap();
    assert!(dev.secret_sha256.is_none() && dev.secret_hash.as_deref().is_some_and(|h| h.starts_with("$argon2id$")));
    // Both go on signing in from the new hash; a wrong secret is still refused; nothing more is written.
    let generation = e.read(|s| s.generation());
    assert_eq!(authenticate(&e, seed::TENANT_ID, &p.app_id, &secret).unwrap().object_id, p.object_id);
    authenticate(&e, seed::TENANT_ID, seed::DEV_CLIENT_ID, seed::DEV_CLIENT_SECRET).unwrap();
    assert_eq!(authenticate(&e, seed::TENANT_ID, &p.app_id, "wrong").unwrap_err().codes, vec![7000215]);
    assert_eq!(e.read(|s| s.generation()), generation, "no write once migrated");
}

#[test]
fn an_older_state_files_records_read_with_the_new_model() {
    // Shapes as an older binary wrote them: `secretSha256` and no `secretHash`.
    let cred: crate::model::PasswordCredential = serde_json::from_value(serde_json::json!({
        "keyId": "k", "displayName": null, "hint": "abc", "secretSha256": "00", "start": 0, "end": 1
    }))
    .unwrap();
    assert_eq!((cred.secret_sha256.as_deref(), cred.secret_hash), (Some("00"), None));
    let p: Principal = serde_json::from_value(serde_json::json!({
        "appId": "a", "objectId": "o", "tenantId": "t", "displayName": "d", "secretSha256": null,
        "managedIdentity": false
    }))
    .unwrap();
    assert!(p.secret_hash.is_none() && p.secret_sha256.is_none());
}

#[test]
fn a_removed_secret_is_refused_even_just_after_it_verified() {
    let e = engine();
    let dev = developer();
    let app = e.write(|s, b| create_application(s, b, &dev, "remembered", None)).unwrap();
    let new = NewSecret::new(None);
    let (cred, secret) = e.write(|s, b| add_password(s, b, &dev, &app.object_id, new, None, None)).unwrap();
    e.write(|s, b| create_service_principal(s, b, &dev, &app.app_id)).unwrap();
    authenticate(&e, seed::TENANT_ID, &app.app_id, &secret).unwrap();
    // Remembered now; removing the secret still ends its sign-ins at once.
    e.write(|s, b| remove_password(s, b, &dev, &app.object_id, &cred.key_id)).unwrap();
    assert_eq!(authenticate(&e, seed::TENANT_ID, &app.app_id, &secret).unwrap_err().codes, vec![7000215]);
}

/// Counted, not timed: each refusal runs exactly one Argon2id verification, the cost that makes
/// a known client id indistinguishable from an unknown one (and a managed identity's, which has
/// no secret).
#[test]
fn a_wrong_secret_runs_exactly_one_argon2id_check_whether_or_not_the_principal_exists() {
    let e = engine();
    let (p, _) = add_principal(&e, "counted").unwrap();
    for client_id in [p.app_id.as_str(), "00000000-0000-0000-0000-0000000000aa", seed::MI_CLIENT_ID] {
        let before = secrets::argon2id_checks();
        assert!(authenticate(&e, seed::TENANT_ID, client_id, "wrong-secret").is_err());
        assert_eq!(secrets::argon2id_checks() - before, 1, "{client_id}");
    }
}
