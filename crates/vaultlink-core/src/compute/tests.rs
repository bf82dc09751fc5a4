//! Tests of the compute rules that the e2e tests with `az` cannot see whole: what deleting a VM
//! takes with it, and what a managed run command stores and records.

use serde_json::{Value, json};

use super::*;
use crate::Engine;
use crate::model::NetworkInterface;
use crate::network;
use crate::testing::{developer, net, world};

const SUB: &str = crate::seed::SUBSCRIPTION_ID;

fn id(type_path: &str, name: &str) -> String {
    network::network_id(SUB, "rg1", type_path, name)
}

/// vnet1/snet1 in westeurope.
fn with_subnet() -> Engine {
    let e = world();
    e.write(|s, b| {
        network::put_vnet(
            s,
            b,
            &developer(),
            (SUB, "rg1", "vnet1"),
            net(json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [{"name": "snet1", "properties": {"addressPrefix": "10.0.0.0/24"}}]}}))?,
        )
    })
    .unwrap();
    e
}

/// A public IP `{name}-ip` and a NIC `{name}-nic` using it, the reference carrying `pip_option`.
fn nic_with_pip(e: &Engine, name: &str, pip_option: Option<&str>) -> NetworkInterface {
    let c = developer();
    let pip = format!("{name}-ip");
    e.write(|s, b| network::put_public_ip(s, b, &c, (SUB, "rg1", &pip), net(json!({"location": "westeurope"}))?))
        .unwrap();
    let mut pip_ref = json!({"id": id("publicIPAddresses", &pip)});
    if let Some(o) = pip_option {
        pip_ref["properties"] = json!({"deleteOption": o});
    }
    let body = json!({"location": "westeurope", "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
        "subnet": {"id": format!("{}/subnets/snet1", id("virtualNetworks", "vnet1"))}, "publicIPAddress": pip_ref}}]}});
    e.write(|s, b| network::put_nic(s, b, &c, (SUB, "rg1", &format!("{name}-nic")), net(body)?)).unwrap().0
}

fn vm_body(nic_id: &str, nic_option: &str) -> Value {
    json!({"location": "westeurope", "properties": {
        "hardwareProfile": {"vmSize": "Standard_B1s"},
        "storageProfile": {"imageReference": {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2", "version": "latest"}},
        "osProfile": {"computerName": "vm", "adminUsername": "azureuser", "adminPassword": "Secret-Passw0rd!"},
        "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"deleteOption": nic_option}}]}}})
}

fn vm(e: &Engine, name: &str, nic: &NetworkInterface, nic_option: &str) {
    let spec = wire::parse_for(wire::Provider::Arm, vm_body(&nic.id, nic_option)).unwrap();
    e.write(|s, b| put_vm(s, b, &developer(), (SUB, "rg1", name), spec)).unwrap();
}

fn exists(e: &Engine, id: &str) -> bool {
    e.read(|s| s.get(id).is_some())
}

#[test]
fn deleting_a_vm_takes_what_the_delete_options_say() {
    let e = with_subnet();
    // NIC Delete, its public IP Delete: all three go.
    let all = nic_with_pip(&e, "all", Some("Delete"));
    // NIC Delete, its public IP never told: the address stays, now unused.
    let nic_only = nic_with_pip(&e, "niconly", None);
    // NIC Detach: the NIC stays, and its public IP with it (still in use), whatever that says.
    let kept = nic_with_pip(&e, "kept", Some("Delete"));
    vm(&e, "vm-all", &all, "Delete");
    vm(&e, "vm-niconly", &nic_only, "Delete");
    vm(&e, "vm-kept", &kept, "Detach");
    let shown =
        e.read(|s| network::render_public_ip(s, &network::public_ip(s, &id("publicIPAddresses", "all-ip")).unwrap()));
    assert_eq!(shown["properties"]["deleteOption"], "Delete");
    for name in ["vm-all", "vm-niconly", "vm-kept"] {
        assert!(e.write(|s, b| delete_vm(s, b, &developer(), (SUB, "rg1", name))).unwrap());
    }
    assert!(!exists(&e, &all.id) && !exists(&e, &id("publicIPAddresses", "all-ip")));
    assert!(!exists(&e, &nic_only.id) && exists(&e, &id("publicIPAddresses", "niconly-ip")));
    assert!(exists(&e, &kept.id) && exists(&e, &id("publicIPAddresses", "kept-ip")));
}

#[test]
fn a_bad_delete_option_on_the_public_ip_reference_changes_nothing() {
    let e = with_subnet();
    let c = developer();
    e.write(|s, b| network::put_public_ip(s, b, &c, (SUB, "rg1", "p"), net(json!({"location": "westeurope"}))?))
        .unwrap();
    let body = json!({"location": "westeurope", "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
        "subnet": {"id": format!("{}/subnets/snet1", id("virtualNetworks", "vnet1"))},
        "publicIPAddress": {"id": id("publicIPAddresses", "p"), "properties": {"deleteOption": "Shred"}}}}]}});
    let err = e.write(|s, b| network::put_nic(s, b, &c, (SUB, "rg1", "n"), net(body)?)).unwrap_err();
    assert_eq!(err.code(), "InvalidRequestFormat");
    assert!(!exists(&e, &id("networkInterfaces", "n")));
    let err = e
        .write(|s, b| {
            network::put_public_ip(
                s,
                b,
                &c,
                (SUB, "rg1", "p"),
                net(json!({"location": "westeurope", "properties": {"deleteOption": "Shred"}}))?,
            )
        })
        .unwrap_err();
    assert_eq!(err.code(), "InvalidRequestFormat");
    assert_eq!(e.read(|s| network::public_ip(s, &id("publicIPAddresses", "p")).unwrap().delete_option), None);
}

// ---------------------------------------------------------------- managed run commands

fn run_body(props: Value) -> runcommand::RunCommandSpec {
    wire::parse_for(wire::Provider::Arm, json!({"location": "westeurope", "properties": props})).unwrap()
}

fn put_run(e: &Engine, name: &str, props: Value) -> Result<runcommand::Run> {
    e.write(|s, b| runcommand::put(s, b, &developer(), (SUB, "rg1", "vm-rc", name), run_body(props), 1024)).map(|x| x.0)
}

fn with_vm() -> Engine {
    let e = with_subnet();
    let nic = nic_with_pip(&e, "rc", None);
    vm(&e, "vm-rc", &nic, "Detach");
    e
}

#[test]
fn a_run_command_is_checked_whole_before_anything_is_stored() {
    let e = with_vm();
    for (props, needle) in [
        (json!({}), "source.script"),
        (json!({"source": {"script": "  "}}), "source.script"),
        (json!({"source": {"scriptUri": "https://x.blob.core.windows.net/s.sh"}}), "scriptUri"),
        (json!({"source": {"commandId": "RunShellScript"}}), "commandId"),
        (json!({"source": {"script": "id"}, "runAsUser": "root"}), "runAsUser"),
        (json!({"source": {"script": "id"}, "outputBlobUri": "https://x/y"}), "outputBlobUri"),
        (json!({"source": {"script": "id"}, "timeoutInSeconds": 5401}), "timeoutInSeconds"),
        (json!({"source": {"script": "id"}, "timeoutInSeconds": -1}), "timeoutInSeconds"),
        (json!({"source": {"script": "id"}, "parameters": [{"name": "1x", "value": "v"}]}), "parameter name"),
        (json!({"source": {"script": "x".repeat(1025)}}), "larger than 1024"),
    ] {
        let err = put_run(&e, "rc", props.clone()).err().unwrap_or_else(|| panic!("{props} was accepted"));
        assert_eq!(err.code(), "InvalidParameter", "{props}");
        assert!(err.message.contains(needle), "{props}: {}", err.message);
    }
    let err = put_run(&e, "bad name!", json!({"source": {"script": "id"}})).err().unwrap();
    assert_eq!(err.code(), "InvalidParameter");
    e.write(|s, b| power_action(s, b, &developer(), (SUB, "rg1", "vm-rc"), "poweroff")).unwrap();
    assert_eq!(put_run(&e, "rc", json!({"source": {"script": "id"}})).err().unwrap().code(), "OperationNotAllowed");
    let listed = e.read(|s| runcommand::list(s, &developer(), (SUB, "rg1", "vm-rc"))).unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

#[test]
fn a_run_records_its_end_unless_run_again_and_goes_with_its_vm() {
    let e = with_vm();
    let props = json!({"source": {"script": "exit 3"}, "treatFailureAsDeploymentFailure": true,
        "protectedParameters": [{"name": "TOKEN", "value": "hidden"}]});
    let first = put_run(&e, "rc", props.clone()).unwrap();
    assert_eq!(first.protected_parameters, vec![("TOKEN".to_string(), "hidden".to_string())]);
    assert_eq!(
        (first.command.provisioning_state.as_str(), first.command.instance.execution_state.as_str()),
        ("Creating", "Running")
    );
    let shown = runcommand::render(&first.command, true);
    assert!(!shown.to_string().contains("hidden"), "{shown}");
    // Run again before the first ends: the first's end is not recorded.
    let second = put_run(&e, "rc", props).unwrap();
    let outcome = |code| Ok(runcommand::Outcome { exit_code: code, output: "out\n".into(), error: String::new() });
    let stale = e
        .write(|s, b| {
            Ok::<_, Error>(runcommand::finish(s, b, &first.command.id, &first.command.run_id, outcome(Some(0))))
        })
        .unwrap();
    assert!(stale.is_none());
    let ended = e
        .write(|s, b| {
            Ok::<_, Error>(runcommand::finish(s, b, &second.command.id, &second.command.run_id, outcome(Some(3))))
        })
        .unwrap()
        .unwrap();
    assert_eq!((ended.provisioning_state.as_str(), ended.instance.execution_state.as_str()), ("Failed", "Failed"));
    assert_eq!(ended.instance.exit_code, Some(3));
    let view = &runcommand::render(&ended, true)["properties"]["instanceView"];
    assert_eq!((view["exitCode"].clone(), view["output"].clone()), (json!(3), json!("out\n")));
    // Killed at its limit: TimedOut.
    let third = put_run(&e, "slow", json!({"source": {"script": "sleep 9"}, "timeoutInSeconds": 120})).unwrap();
    let timed = e
        .write(|s, b| Ok::<_, Error>(runcommand::finish(s, b, &third.command.id, &third.command.run_id, outcome(None))))
        .unwrap()
        .unwrap();
    assert_eq!((timed.instance.execution_state.as_str(), timed.provisioning_state.as_str()), ("TimedOut", "Succeeded"));
    assert!(timed.instance.execution_message.contains("120 seconds"), "{}", timed.instance.execution_message);
    // Deleting the VM deletes its run commands.
    assert!(e.write(|s, b| delete_vm(s, b, &developer(), (SUB, "rg1", "vm-rc"))).unwrap());
    assert!(!exists(&e, &ended.id) && !exists(&e, &timed.id));
}

/// A run recorded as under way when vaultlink starts was cut short by a stop: it ends as failed,
/// saying so; finished runs are untouched.
#[test]
fn runs_under_way_at_a_start_end_as_interrupted() {
    let e = with_vm();
    let running = put_run(&e, "running", json!({"source": {"script": "sleep 600"}})).unwrap();
    let done = put_run(&e, "done", json!({"source": {"script": "true"}})).unwrap();
    let ok = Ok(runcommand::Outcome { exit_code: Some(0), output: String::new(), error: String::new() });
    e.write(|s, b| Ok::<_, Error>(runcommand::finish(s, b, &done.command.id, &done.command.run_id, ok))).unwrap();
    assert_eq!(e.write(|s, b| Ok::<_, Error>(runcommand::interrupt_all(s, b))).unwrap(), 1);
    let c = e.read(|s| runcommand::command(s, &running.command.id)).unwrap();
    assert_eq!((c.instance.execution_state.as_str(), c.provisioning_state.as_str()), ("Failed", "Succeeded"));
    assert!(c.instance.execution_message.contains("vaultlink stopped"), "{}", c.instance.execution_message);
    assert!(c.instance.end_time.is_some());
    let d = e.read(|s| runcommand::command(s, &done.command.id)).unwrap();
    assert_eq!(d.instance.execution_state, "Succeeded");
    assert_eq!(e.write(|s, b| Ok::<_, Error>(runcommand::interrupt_all(s, b))).unwrap(), 0);
}
