// vaultlink portal: virtual machines: list, the creation steps (Basics, Networking, Review + create),
// the VM's page (overview, power actions, deletion) and its Run command.
'use strict';

// The images the Basics step offers, as the Azure portal names them (ARM checks each reference).
const VM_IMAGES = [
  ['ubuntu2204', 'Ubuntu Server 22.04 LTS - x64 Gen2', { publisher: 'Canonical', offer: '0001-com-ubuntu-server-jammy', sku: '22_04-lts-gen2', version: 'latest' }, 'Linux'],
  ['debian11', 'Debian 11 "Bullseye" with backports - x64 Gen2', { publisher: 'Debian', offer: 'debian-11', sku: '11-backports-gen2', version: 'latest' }, 'Linux'],
  ['win2022', 'Windows Server 2022 Datacenter - x64 Gen2', { publisher: 'MicrosoftWindowsServer', offer: 'WindowsServer', sku: '2022-datacenter-g2', version: 'latest' }, 'Windows'],
];
const powerOf = (v) => { const s = ((v.properties.instanceView || {}).statuses || []).find((x) => x.code.startsWith('PowerState/')); return s ? s.displayStatus : ''; };
const imageLabel = (r) => `${r.publisher} / ${r.offer} / ${r.sku} / ${r.version}`;
const vmNicId = (v) => { const n = v.properties.networkProfile.networkInterfaces; const p = n.find((x) => x.properties && x.properties.primary) || n[0]; return p ? p.id : ''; };

async function vmsList() {
  const [vms, nics] = await Promise.all([loaders.vms(), loaders.nics()]);
  const ipOf = (v) => { const n = nics.find((x) => x.id.toLowerCase() === vmNicId(v).toLowerCase()); return n ? n.properties.ipConfigurations[0].properties.privateIPAddress : ''; };
  show(h('h1', {}, 'Virtual machines'),
    h('div', { class: 'toolbar' }, h('button', { id: 'create-vm', onclick: () => { location.hash = '#/vms/create'; } }, '+ Create')),
    h('table', { id: 'vms' }, h('thead', {}, h('tr', {}, ['Name', 'Resource group', 'Location', 'Size', 'Power state', 'Private IP address'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rowsOr(vms, 6, (v) => h('tr', { 'data-vm': v.name }, h('td', {}, link(`#/vm/${enc(v.id)}`, v.name)), h('td', {}, rgOf(v.id)), h('td', {}, regionName(v.location)),
        h('td', {}, v.properties.hardwareProfile.vmSize), h('td', {}, powerOf(v)), h('td', {}, ipOf(v)))))));
}

const VM_TYPE = 'Microsoft.Compute/virtualMachines';
async function createVm() {
  const [groups, locations, vnets] = await Promise.all([loaders.groups(), loaders.locations(), loaders.vnets()]);
  const d = { rg: groups[0] && groups[0].name, name: '', location: defaultRegion(groups, locations), image: VM_IMAGES[0][0], size: 'Standard_B1s', auth: 'ssh',
    user: 'azureuser', sshKey: '', password: '', vnetId: '', subnetId: '', publicIp: 'new', nsg: 'basic' };
  const sizes = {};
  const tabDefs = [['basics', 'Basics'], ['networking', 'Networking'], ['review', 'Review + create']];
  const { go, nav, render, start, current } = wizard(tabDefs);
  const image = () => VM_IMAGES.find((i) => i[0] === d.image);
  const windows = () => image()[3] === 'Windows';
  // The sizes ARM offers in the region, read once per region.
  const sizeSelect = () => {
    const s = select('vm-size', (sizes[d.location] || [d.size]).map((x) => x.name || x), d.size, (e) => { d.size = e.target.value; });
    if (!sizes[d.location]) loaders.vmSizes(d.location).then((v) => { sizes[d.location] = v; if (current() === 'basics') render(); }).catch(() => {});
    return s;
  };
  // As the Azure portal does: only the virtual networks in the VM's region; the first by default.
  const pickNetwork = () => regionNetwork(vnets, d);
  const ipName = () => `${d.name}-ip`;
  const radio = (group, val, text, checked, onchange) => h('label', { class: 'toggle' }, h('input', { type: 'radio', name: group, id: `${group}-${val}`, value: val, checked, onchange }), text);
  const pages = {
    basics: () => {
      if (windows()) d.auth = 'password';
      const auth = d.auth === 'ssh'
        ? field('SSH public key', h('textarea', { id: 'vm-ssh-key', rows: 4, placeholder: 'ssh-rsa AAAA… or ssh-ed25519 AAAA…', oninput: (e) => { d.sshKey = e.target.value.trim(); } }, d.sshKey))
        : field('Password', h('input', { type: 'password', id: 'vm-password', value: d.password, autocomplete: 'new-password', oninput: (e) => { d.password = e.target.value; } }));
      return [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Project details'), field('Subscription', select('vm-sub', [[S.sub, S.subName]])),
        rgField('vm', groups, d, render),
        h('div', { class: 'section' }, 'Instance details'),
        nameField('Virtual machine name', 'vm-name', judgeName(VM_TYPE, pathInGroup(d, VM_TYPE, API.compute)), d.name, (e) => { d.name = e.target.value.trim(); }),
        field('Region', regionSelect('vm-region', locations, d.location, (e) => { d.location = e.target.value; d.vnetId = ''; d.subnetId = ''; render(); })),
        field('Image', select('vm-image', VM_IMAGES.map((i) => [i[0], i[1]]), d.image, (e) => { d.image = e.target.value; d.auth = windows() ? 'password' : 'ssh'; render(); })),
        field('Size', sizeSelect()),
        h('div', { class: 'section' }, 'Administrator account'),
        h('label', {}, 'Authentication type'), h('div', {}, windows() ? radio('vm-auth', 'password', 'Password', true)
          : [radio('vm-auth', 'ssh', 'SSH public key', d.auth === 'ssh', () => { d.auth = 'ssh'; render(); }), ' ', radio('vm-auth', 'password', 'Password', d.auth === 'password', () => { d.auth = 'password'; render(); })]),
        field('Username', h('input', { type: 'text', id: 'vm-user', value: d.user, oninput: (e) => { d.user = e.target.value.trim(); } })), auth),
      nav(null, 'networking')];
    },
    networking: () => {
      const { inRegion, subnets } = pickNetwork();
      return [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Network interface'),
        field('Virtual network', select('vm-vnet', inRegion.map((x) => [x.id, `${x.name} (${rgOf(x.id)})`]), d.vnetId, (e) => { d.vnetId = e.target.value; render(); })),
        field('Subnet', select('vm-subnet', subnets.map((s) => [s.id, `${s.name} (${s.properties.addressPrefix})`]), d.subnetId, (e) => { d.subnetId = e.target.value; })),
        field('Public IP', select('vm-public-ip', [['none', 'None'], ['new', `(new) ${d.name ? ipName() : '<vm>-ip'}`]], d.publicIp, (e) => { d.publicIp = e.target.value; })),
        h('label', {}, 'NIC network security group'), h('div', {}, radio('vm-nsg', 'none', 'None', d.nsg === 'none', () => { d.nsg = 'none'; }), ' ', radio('vm-nsg', 'basic', 'Basic', d.nsg === 'basic', () => { d.nsg = 'basic'; })),
        h('label', {}, 'Delete NIC when VM is deleted'), h('span', {}, 'Yes'),
        h('div', { class: 'section' }, 'Load balancing'),
        h('label', {}, 'Place this virtual machine behind an existing load balancing solution?'), h('div', {}, radio('vm-lb', 'no', 'No', true))),
      inRegion.length ? null : h('div', { class: 'info' }, `No virtual network in ${d.location}. The virtual machine and its virtual network must be in the same region.`),
      nav('basics', 'review')];
    },
    review: () => {
      pickNetwork();
      const out = h('div', { id: 'deploy-result' });
      const rows = [['Virtual machine name', d.name], ['Resource group', d.newRg ? `(new) ${d.rg}` : d.rg], ['Region', regionName(d.location)], ['Image', image()[1]], ['Size', d.size],
        ['Authentication type', d.auth === 'ssh' ? 'SSH public key' : 'Password'], ['Username', d.user], ['Subnet', d.subnetId ? subnetLabel(d.subnetId) : ''],
        ['Public IP', d.publicIp === 'new' ? `(new) ${ipName()}` : 'None'], ['NIC network security group', d.nsg === 'basic' ? `(new) ${d.name}-nsg` : 'None'],
        ['Network interface', `(new) ${d.name}-nic`], ['Load balancing', 'No']];
      return [h('div', { class: 'kv', id: 'review' }, rows.map(([k, v]) => [h('div', {}, k), h('div', {}, v)])),
        reviewButtons(go, 'networking', out, {
          steps: async () => [providerStep('Microsoft.Network'), providerStep('Microsoft.Compute'), ...rgSteps(d), ...vmSteps(d, image()[2])],
          done: async () => `#/vm/${enc(`${subPath()}/resourceGroups/${d.rg}/providers/Microsoft.Compute/virtualMachines/${d.name}`)}`,
          check: async () => [!d.rg && 'Basics: select or create a resource group.', !d.name && 'Basics: the virtual machine name is required.',
            d.name && await nameProblem(VM_TYPE, d.name).then((p) => p && `Basics: ${p}`),
            d.auth === 'ssh' && !d.sshKey && 'Basics: the SSH public key is required.', d.auth === 'password' && !d.password && 'Basics: the password is required.',
            !d.subnetId && `Networking: select a virtual network and subnet in ${d.location} (the VM and its virtual network must be in the same region).`].filter(Boolean),
        }), out];
    },
  };
  start('Create a virtual machine', pages);
}

// The ARM PUTs that make one VM: its public IP and NSG when asked, its NIC in the subnet (ARM gives
// it the subnet's next free address), then the VM. Each is new (createOnly); a failure undoes them.
function vmSteps(d, imageReference) {
  const rgPath = `${subPath()}/resourceGroups/${d.rg}/providers`;
  const net = (type, name) => `${rgPath}/Microsoft.Network/${type}/${name}`;
  const steps = [];
  const ipc = { subnet: { id: d.subnetId }, privateIPAllocationMethod: 'Dynamic' };
  const nicProps = { ipConfigurations: [{ name: 'ipconfig1', properties: ipc }] };
  if (d.publicIp === 'new') {
    const id = net('publicIPAddresses', `${d.name}-ip`);
    steps.push({ path: withVer(id, API.net), body: { location: d.location, sku: { name: 'Standard' }, properties: { publicIPAllocationMethod: 'Static' } }, createOnly: true });
    // As the Azure portal's "Delete public IP and NIC when VM is deleted", on by default.
    ipc.publicIPAddress = { id, properties: { deleteOption: 'Delete' } };
  }
  if (d.nsg === 'basic') {
    const id = net('networkSecurityGroups', `${d.name}-nsg`);
    steps.push({ path: withVer(id, API.net), body: { location: d.location, properties: { securityRules: [] } }, createOnly: true });
    nicProps.networkSecurityGroup = { id };
  }
  const nicId = net('networkInterfaces', `${d.name}-nic`);
  steps.push({ path: withVer(nicId, API.net), body: { location: d.location, properties: nicProps }, createOnly: true });
  const osProfile = { computerName: d.name, adminUsername: d.user };
  if (d.auth === 'ssh') osProfile.linuxConfiguration = { disablePasswordAuthentication: true, ssh: { publicKeys: [{ path: `/home/${d.user}/.ssh/authorized_keys`, keyData: d.sshKey }] } };
  else osProfile.adminPassword = d.password;
  steps.push({ path: withVer(`${rgPath}/Microsoft.Compute/virtualMachines/${d.name}`, API.compute), createOnly: true, body: { location: d.location, properties: {
    hardwareProfile: { vmSize: d.size },
    storageProfile: { imageReference, osDisk: { createOption: 'FromImage', deleteOption: 'Delete', managedDisk: { storageAccountType: 'Premium_LRS' } } },
    osProfile,
    networkProfile: { networkInterfaces: [{ id: nicId, properties: { primary: true, deleteOption: 'Delete' } }] },
  } } });
  return steps;
}

async function vmPage(id, tab) {
  const v = await arm('GET', `${id}?$expand=instanceView`, API.compute);
  const nicId = vmNicId(v);
  const nic = nicId ? await arm('GET', nicId, API.net) : null;
  const ipc = nic ? nic.properties.ipConfigurations[0].properties : {};
  const pip = ipc.publicIPAddress ? await arm('GET', ipc.publicIPAddress.id, API.net).catch(() => null) : null;
  const os = v.properties.storageProfile.osDisk.osType;
  const base = `#/vm/${enc(id)}`;
  const out = h('div', { id: 'vm-result' });
  const tabs = h('div', { class: 'tabs' }, h('button', { id: 'tab-overview', class: tab === 'run' ? '' : 'active', onclick: () => { location.hash = base; } }, 'Overview'),
    h('button', { id: 'tab-run', class: tab === 'run' ? 'active' : '', onclick: () => { location.hash = base + '/run'; } }, 'Run command'));
  const head = [h('h1', {}, v.name), h('div', { class: 'subtitle' }, `Virtual machine · ${rgOf(id)}`), tabs];
  if (tab === 'run') return show(head, runCommandPanel(v, os));
  const act = (label, btnId, action) => h('button', { id: btnId, onclick: async (ev) => {
    ev.target.disabled = true; out.replaceChildren(h('div', { class: 'info' }, `${label}…`));
    try { await arm('POST', `${id}/${action}`, API.compute); await route(); } catch (e) { out.replaceChildren(errorBox(e)); ev.target.disabled = false; }
  } }, label);
  const del = deleteConfirm(`Delete virtual machine ${v.name}? What is set to go with it (delete option: Delete; for a VM made here its network interface, public IP and OS disk) is deleted too.`,
    async () => { await arm('DELETE', id, API.compute); location.hash = '#/vms'; }, out);
  const ref = v.properties.storageProfile.imageReference;
  show(head,
    h('div', { class: 'toolbar' }, act('Start', 'vm-start', 'start'), act('Stop', 'vm-stop', 'deallocate'), act('Restart', 'vm-restart', 'restart'),
      h('button', { id: 'vm-delete', onclick: del.ask }, 'Delete')), del.box, out,
    h('div', { class: 'kv', id: 'vm-essentials' },
      h('div', {}, 'Resource group'), h('div', {}, rgOf(v.id)), h('div', {}, 'Location'), h('div', {}, regionName(v.location)),
      h('div', {}, 'Status'), h('div', { id: 'vm-status' }, powerOf(v)),
      h('div', {}, 'Size'), h('div', { id: 'vm-size' }, v.properties.hardwareProfile.vmSize),
      h('div', {}, 'Operating system'), h('div', {}, os),
      h('div', {}, 'Image'), h('div', { id: 'vm-image' }, imageLabel(ref)),
      h('div', {}, 'Private IP address'), h('div', { id: 'vm-private-ip' }, ipc.privateIPAddress || ''),
      h('div', {}, 'Public IP address'), h('div', { id: 'vm-public-ip' }, pip ? `${pip.properties.ipAddress || ''} (${pip.name})` : 'None'),
      h('div', {}, 'Virtual network/subnet'), h('div', { id: 'vm-subnet' }, ipc.subnet ? subnetLabel(ipc.subnet.id) : ''),
      h('div', {}, 'Network interface'), h('div', { id: 'vm-nic' }, nicId ? link(`#/nic/${enc(nicId)}`, nameOf(nicId)) : 'None'),
      h('div', {}, 'NIC network security group'), h('div', { id: 'vm-nsg' }, nic && nic.properties.networkSecurityGroup ? nameOf(nic.properties.networkSecurityGroup.id) : 'None'),
      h('div', {}, 'Admin username'), h('div', {}, v.properties.osProfile.adminUsername)));
}

// Run command: POST .../runCommand, then the operation ARM names is polled until it ends.
function runCommandPanel(v, os) {
  const commands = os === 'Windows' ? ['RunPowerShellScript'] : ['RunShellScript'];
  const cmd = select('run-command-id', commands, commands[0]);
  const script = h('textarea', { id: 'run-script', rows: 6, placeholder: os === 'Windows' ? 'Resolve-DnsName myvault.vault.azure.net' : 'nslookup myvault.vault.azure.net' });
  const result = h('div', { id: 'run-result' });
  const output = h('pre', { id: 'run-output', hidden: true });
  const run = h('button', { class: 'primary', id: 'run', onclick: async () => {
    run.disabled = true; output.hidden = true; output.textContent = '';
    result.replaceChildren(h('div', { class: 'info' }, 'Running the script on the virtual machine…'));
    try {
      const op = await armOperation('POST', `${v.id}/runCommand`, API.compute, { commandId: cmd.value, script: script.value.split('\n') }, () => output.isConnected);
      if (!op) return;
      if (op.error) throw Object.assign(new Error(op.error.message), { code: op.error.code });
      const status = ((op.properties || {}).output || { value: [] }).value[0] || {};
      result.replaceChildren(h('div', { class: status.code === 'ProvisioningState/succeeded' ? 'ok' : 'error' }, status.displayStatus || op.status));
      output.textContent = status.message || ''; output.hidden = false;
    } catch (e) { result.replaceChildren(errorBox(e)); } finally { run.disabled = false; }
  } }, 'Run');
  return [h('div', { class: 'form' }, field('Command', cmd), field('Script', script)), h('div', { class: 'toolbar' }, run), result, h('h2', {}, 'Output'), output];
}
