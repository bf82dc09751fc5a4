// vaultlink portal: private DNS zones (record sets, virtual network links) and virtual networks
// (list, create with address space and subnets, the VNet's page with its subnets).
'use strict';

async function zonesList() {
  const zones = await loaders.zones();
  show(h('h1', {}, 'Private DNS zones'),
    h('table', { id: 'zones' }, h('thead', {}, h('tr', {}, ['Name', 'Resource group', 'Record sets', 'Virtual network links'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rowsOr(zones, 4, (z) => h('tr', { 'data-zone': z.name }, h('td', {}, link(`#/zone/${enc(z.id)}`, z.name)), h('td', {}, rgOf(z.id)),
        h('td', {}, String(z.properties.numberOfRecordSets)), h('td', {}, String(z.properties.numberOfVirtualNetworkLinks)))))));
}

async function zonePage(id, tab) {
  const [z, records, links, vnets] = await Promise.all([arm('GET', id, API.dns), loaders.records(id), loaders.links(id), loaders.vnets()]);
  const base = `#/zone/${enc(id)}`;
  const out = h('div', { id: 'zone-result' });
  const tabs = h('div', { class: 'tabs' }, h('button', { id: 'tab-records', class: tab === 'links' ? '' : 'active', onclick: () => { location.hash = base; } }, 'Overview (record sets)'),
    h('button', { id: 'tab-links', class: tab === 'links' ? 'active' : '', onclick: () => { location.hash = base + '/links'; } }, 'Virtual network links'));
  const value = (r) => { const p = r.properties; return (p.aRecords || []).map((a) => a.ipv4Address).concat((p.cnameRecord ? [p.cnameRecord.cname] : []), p.soaRecord ? [`${p.soaRecord.host} ${p.soaRecord.email}`] : []).join(', '); };
  if (tab !== 'links') {
    const rname = h('input', { type: 'text', id: 'record-name', placeholder: 'myvault' });
    const rip = h('input', { type: 'text', id: 'record-ip', placeholder: '10.1.0.5' });
    const rttl = h('input', { type: 'text', id: 'record-ttl', value: '600' });
    const warn = h('div', { id: 'record-name-warning', class: 'field-message', role: 'status' });
    // The troubleshooting guide's warning: a record set's name is relative to its zone.
    const suffixed = () => {
      const n = rname.value.trim().toLowerCase();
      const dotted = n.includes('.') && (n.endsWith(z.name.toLowerCase()) || /\.(vault|vaultcore)\.azure\.net$/.test(n));
      warn.replaceChildren(dotted ? h('div', { class: 'finding warning' }, `A record set's name is relative to the zone: this one would answer ${n}.${z.name}. For a vault, enter its name alone (${n.split('.')[0]}).`) : '');
    };
    rname.addEventListener('input', suffixed);
    const save = h('button', { id: 'add-record', onclick: async () => {
      const ips = rip.value.split(',').map((a) => a.trim()).filter(Boolean);
      try { await arm('PUT', `${id}/A/${rname.value.trim()}`, API.dns, { properties: { ttl: Number(rttl.value), aRecords: ips.map((a) => ({ ipv4Address: a })) } }); await route(); } catch (e) { out.replaceChildren(errorBox(e)); }
    } }, 'OK');
    const form = h('h2', { id: 'record-form-title' }, '+ Record set (A)');
    const edit = (r) => {
      rname.value = r.name; rname.readOnly = true;
      rip.value = (r.properties.aRecords || []).map((a) => a.ipv4Address).join(', ');
      rttl.value = String(r.properties.ttl);
      form.textContent = `Edit record set ${r.name} (A)`; save.textContent = 'Save'; warn.replaceChildren();
      rip.focus();
    };
    const confirm = h('div', { id: 'confirm-area' });
    const remove = (r) => {
      const c = deleteConfirm(`Delete the record set ${r.name}? Names in the zone stop resolving to ${value(r)}.`, async () => { await arm('DELETE', `${id}/A/${r.name}`, API.dns); await route(); }, out);
      confirm.replaceChildren(c.box); c.ask();
    };
    const actions = (r) => (r.type.endsWith('/A') && !r.properties.isAutoRegistered
      ? [h('button', { class: 'edit-record', 'aria-label': `Edit ${r.name}`, onclick: () => edit(r) }, 'Edit'), ' ', h('button', { class: 'delete-record', 'aria-label': `Delete ${r.name}`, onclick: () => remove(r) }, 'Delete')]
      : '');
    return show(h('h1', {}, z.name), h('div', { class: 'subtitle' }, `Private DNS zone · ${rgOf(id)}`), tabs,
      h('table', { id: 'records' }, h('thead', {}, h('tr', {}, ['Name', 'Type', 'TTL', 'Value', 'Auto registered', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, records.map((r) => h('tr', { 'data-record': r.name }, h('td', {}, r.name), h('td', {}, r.type.split('/').pop()), h('td', {}, String(r.properties.ttl)), h('td', {}, value(r)), h('td', {}, r.properties.isAutoRegistered ? 'True' : 'False'), h('td', {}, actions(r)))))),
      confirm,
      form, h('div', { class: 'form' }, field('Name', rname), warn, field('IP addresses (comma-separated)', rip), field('TTL (seconds)', rttl)),
      h('div', { class: 'toolbar' }, save), out);
  }
  const lname = h('input', { type: 'text', id: 'link-name' });
  const lvnet = select('link-vnet', vnets.map((v) => [v.id, `${v.name} (${rgOf(v.id)})`]));
  const reg = h('input', { type: 'checkbox', id: 'link-registration' });
  const confirm = h('div', { id: 'confirm-area' });
  const unlink = (l) => {
    const c = deleteConfirm(`Delete the link ${l.name}? Queries from ${nameOf(l.properties.virtualNetwork.id)} stop seeing this zone and get the public answers.`, async () => { await arm('DELETE', `${id}/virtualNetworkLinks/${l.name}`, API.dns); await route(); }, out);
    confirm.replaceChildren(c.box); c.ask();
  };
  show(h('h1', {}, z.name), h('div', { class: 'subtitle' }, `Private DNS zone · ${rgOf(id)}`), tabs,
    h('table', { id: 'links' }, h('thead', {}, h('tr', {}, ['Link name', 'Virtual network', 'Auto-registration', 'Link status', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, links.length ? links.map((l) => h('tr', { 'data-link': l.name }, h('td', {}, l.name), h('td', {}, nameOf(l.properties.virtualNetwork.id)), h('td', {}, l.properties.registrationEnabled ? 'Enabled' : 'Disabled'), h('td', {}, l.properties.virtualNetworkLinkState),
        h('td', {}, h('button', { class: 'delete-link', 'aria-label': `Delete ${l.name}`, onclick: () => unlink(l) }, 'Delete'))))
        : h('tr', {}, h('td', { colspan: 5 }, 'No virtual network links: queries from virtual networks do not see this zone.')))),
    confirm,
    h('h2', {}, '+ Add a virtual network link'), h('div', { class: 'form' }, field('Link name', lname), field('Virtual network', lvnet), field('Enable auto registration', reg)),
    h('div', { class: 'toolbar' }, h('button', { id: 'add-link', onclick: async () => {
      try { await arm('PUT', `${id}/virtualNetworkLinks/${lname.value.trim()}`, API.dns, { location: 'global', properties: { virtualNetwork: { id: lvnet.value }, registrationEnabled: reg.checked } }); await route(); } catch (e) { out.replaceChildren(errorBox(e)); }
    } }, 'OK')), out);
}

async function vnetsList() {
  const vnets = await loaders.vnets();
  show(h('h1', {}, 'Virtual networks'),
    h('div', { class: 'toolbar' }, h('button', { id: 'create-vnet', onclick: () => { location.hash = '#/vnets/create'; } }, '+ Create')),
    h('div', { class: 'table-box' }, h('table', { id: 'vnets' }, h('thead', {}, h('tr', {}, ['Name', 'Resource group', 'Location', 'Address space', 'Subnets'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rowsOr(vnets, 5, (v) => h('tr', { 'data-vnet': v.name }, h('td', {}, link(`#/vnet/${enc(v.id)}`, v.name)), h('td', {}, rgOf(v.id)), h('td', {}, regionName(v.location)), h('td', {}, v.properties.addressSpace.addressPrefixes.join(', ')),
        h('td', {}, v.properties.subnets.map((s) => `${s.name} (${s.properties.addressPrefix})`).join(', '))))))));
}

// A subnet's private endpoint network policy, as the Azure portal words ARM's values.
const PE_POLICIES = [['Disabled', 'Disabled'], ['NetworkSecurityGroupEnabled', 'Network security groups'], ['RouteTableEnabled', 'Route tables'], ['Enabled', 'Network security groups and route tables']];
const policyLabel = (v) => (PE_POLICIES.find(([k]) => k === v) || [v, v])[1];
const prefixesOf = (text) => text.split(',').map((x) => x.trim()).filter(Boolean);

// The "Add a subnet" / "Edit subnet" panel: name (fixed when editing), address range and the
// private endpoint network policy; `onOk` gets them and closes the panel when it resolves.
function subnetBlade(sn, onOk) {
  const name = h('input', { type: 'text', id: 'subnet-name', value: sn.name || '', readonly: !!sn.name });
  const range = h('input', { type: 'text', id: 'subnet-range', value: sn.addressPrefix || '', placeholder: '10.0.1.0/24' });
  const policy = select('subnet-pe-policy', PE_POLICIES, sn.privateEndpointNetworkPolicies || 'Disabled');
  const out = h('div', { id: 'subnet-result' });
  const close = openBlade('subnet-blade', sn.name ? `Edit subnet ${sn.name}` : 'Add a subnet',
    h('div', { class: 'form' }, field('Name', name), field('Subnet address range', range),
      h('div', { class: 'section' }, 'Network policy for private endpoints'), field('Private endpoint network policy', policy)),
    out,
    h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'subnet-ok', onclick: async (ev) => {
      out.replaceChildren();
      if (!name.value.trim()) return out.append(errorBox('The subnet name is required.'));
      if (!range.value.trim()) return out.append(errorBox('The subnet address range is required.'));
      ev.target.disabled = true;
      try { await onOk({ name: name.value.trim(), addressPrefix: range.value.trim(), privateEndpointNetworkPolicies: policy.value }); close(); } catch (e) { out.replaceChildren(errorBox(e)); ev.target.disabled = false; }
    } }, sn.name ? 'Save' : 'Add'), h('button', { id: 'subnet-cancel', onclick: () => close() }, 'Cancel')));
}

const VNET_TYPE = 'Microsoft.Network/virtualNetworks';
async function createVnet() {
  const [groups, locations] = await Promise.all([loaders.groups(), loaders.locations()]);
  // The Azure portal's defaults: 10.0.0.0/16 with one subnet, "default", 10.0.0.0/24.
  const d = { rg: groups[0] && groups[0].name, newRg: false, name: '', location: defaultRegion(groups, locations), space: '10.0.0.0/16',
    subnets: [{ name: 'default', addressPrefix: '10.0.0.0/24', privateEndpointNetworkPolicies: 'Disabled' }] };
  const tabDefs = [['basics', 'Basics'], ['ip', 'IP addresses'], ['review', 'Review + create']];
  const { go, nav, render, start } = wizard(tabDefs, 'Review + create');
  const pages = {
    basics: () => [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Project details'), field('Subscription', select('vnet-sub', [[S.sub, S.subName]])),
      rgField('vnet', groups, d, render),
      h('div', { class: 'section' }, 'Instance details'),
      nameField('Virtual network name', 'vnet-name', judgeName(VNET_TYPE, pathInGroup(d, VNET_TYPE, API.net)), d.name, (e) => { d.name = e.target.value.trim(); }),
      field('Region', regionSelect('vnet-region', locations, d.location, (e) => { d.location = e.target.value; }))),
    nav(null, 'ip')],
    ip: () => {
      const rows = rowsOr(d.subnets, 4, (sn, i) => h('tr', { 'data-subnet': sn.name }, h('td', {}, sn.name), h('td', {}, sn.addressPrefix), h('td', {}, policyLabel(sn.privateEndpointNetworkPolicies)),
        h('td', {}, h('button', { class: 'link edit-subnet', 'aria-label': `Edit ${sn.name}`, onclick: () => subnetBlade(sn, async (x) => { d.subnets[i] = x; render(); }) }, 'Edit'), ' ',
          h('button', { class: 'link delete-subnet', 'aria-label': `Delete ${sn.name}`, onclick: () => { d.subnets.splice(i, 1); render(); } }, 'Delete'))));
      return [h('div', { class: 'form' }, h('div', { class: 'section' }, 'IPv4 address space'),
        field('Address space (comma-separated)', h('input', { type: 'text', id: 'vnet-address-space', value: d.space, oninput: (e) => { d.space = e.target.value; } }))),
      h('h2', {}, 'Subnets'),
      h('div', { class: 'toolbar' }, h('button', { id: 'add-subnet', onclick: () => subnetBlade({}, async (x) => {
        if (d.subnets.some((y) => y.name.toLowerCase() === x.name.toLowerCase())) throw new Error(`A subnet named ${x.name} is already in the list.`);
        d.subnets.push(x); render();
      }) }, '+ Add a subnet')),
      h('div', { class: 'table-box' }, h('table', { id: 'draft-subnets' }, h('thead', {}, h('tr', {}, ['Name', 'Address range', 'Private endpoint network policy', ''].map((t) => h('th', {}, t)))), h('tbody', {}, rows))),
      nav('basics', 'review')];
    },
    review: () => {
      const out = h('div', { id: 'deploy-result' });
      const id = `${subPath()}/resourceGroups/${d.rg}/providers/Microsoft.Network/virtualNetworks/${d.name}`;
      const rows = [['Subscription', S.subName], ['Resource group', d.newRg ? `(new) ${d.rg}` : d.rg], ['Name', d.name], ['Region', regionName(d.location)],
        ['Address space', prefixesOf(d.space).join(', ')], ['Subnets', d.subnets.map((x) => `${x.name} (${x.addressPrefix})`).join(', ') || 'none']];
      return [h('div', { class: 'kv', id: 'review' }, rows.map(([k, v]) => [h('div', {}, k), h('div', {}, v)])),
        reviewButtons(go, 'ip', out, {
          steps: async () => {
            const subnets = d.subnets.map((x) => ({ name: x.name, properties: { addressPrefix: x.addressPrefix, privateEndpointNetworkPolicies: x.privateEndpointNetworkPolicies } }));
            return [providerStep('Microsoft.Network'), ...rgSteps(d), { path: withVer(id, API.net), createOnly: true,
              body: { location: d.location, properties: { addressSpace: { addressPrefixes: prefixesOf(d.space) }, subnets } } }];
          },
          done: async () => `#/vnet/${enc(id)}`,
          check: async () => [!d.rg && 'Basics: select or create a resource group.', !d.name && 'Basics: the virtual network name is required.',
            d.name && await nameProblem(VNET_TYPE, d.name).then((p) => p && `Basics: ${p}`),
            !prefixesOf(d.space).length && 'IP addresses: the address space needs at least one prefix.'].filter(Boolean),
        }), out];
    },
  };
  start('Create virtual network', pages);
}

// A virtual network's page: its address space (a prefix can be added) and its subnets (added,
// edited: address range and private endpoint network policy, deleted), each change an ARM PUT or
// DELETE that ARM checks (overlaps, a subnet in use).
async function vnetPage(id) {
  const v = await arm('GET', id, API.net);
  const out = h('div', { id: 'vnet-result' });
  const confirm = h('div', { id: 'confirm-area' });
  const subnetPath = (n) => `${id}/subnets/${n}`;
  const putSubnet = async (x, existing) => {
    const props = Object.assign({}, existing ? existing.properties : {}, { addressPrefix: x.addressPrefix, privateEndpointNetworkPolicies: x.privateEndpointNetworkPolicies });
    await arm('PUT', subnetPath(x.name), API.net, { name: x.name, properties: props });
    await route();
  };
  const remove = (sn) => {
    const c = deleteConfirm(`Delete the subnet ${sn.name} (${sn.properties.addressPrefix})?`, async () => { await arm('DELETE', subnetPath(sn.name), API.net); await route(); }, out);
    confirm.replaceChildren(c.box); c.ask();
  };
  const space = h('input', { type: 'text', id: 'vnet-add-prefix', placeholder: '10.1.0.0/16', 'aria-label': 'Address prefix to add' });
  const addSpace = h('button', { id: 'vnet-add-prefix-save', onclick: async () => {
    const more = prefixesOf(space.value);
    if (!more.length) return;
    const body = await arm('GET', id, API.net);
    body.properties.addressSpace.addressPrefixes = body.properties.addressSpace.addressPrefixes.concat(more);
    try { await arm('PUT', id, API.net, body); await route(); } catch (e) { out.replaceChildren(errorBox(e)); }
  } }, 'Add address space');
  const subnets = v.properties.subnets || [];
  show(h('h1', {}, v.name), h('div', { class: 'subtitle' }, `Virtual network · ${rgOf(id)}`),
    h('div', { class: 'kv', id: 'vnet-essentials' }, h('div', {}, 'Resource group'), h('div', {}, rgOf(id)), h('div', {}, 'Location'), h('div', {}, regionName(v.location)),
      h('div', {}, 'Subscription'), h('div', {}, S.subName), h('div', {}, 'Address space'), h('div', { id: 'vnet-space' }, v.properties.addressSpace.addressPrefixes.join(', '))),
    h('div', { class: 'toolbar' }, space, addSpace),
    h('h2', {}, 'Subnets'),
    h('div', { class: 'toolbar' }, h('button', { id: 'add-subnet', onclick: () => subnetBlade({}, (x) => putSubnet(x, null)) }, '+ Subnet')),
    confirm, out,
    h('div', { class: 'table-box' }, h('table', { id: 'subnets' }, h('thead', {}, h('tr', {}, ['Name', 'Address range', 'Private endpoint network policy', 'Private endpoints', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, rowsOr(subnets, 5, (sn) => h('tr', { 'data-subnet': sn.name }, h('td', {}, sn.name), h('td', {}, sn.properties.addressPrefix),
        h('td', { class: 'pe-policy' }, policyLabel(sn.properties.privateEndpointNetworkPolicies)), h('td', {}, String((sn.properties.privateEndpoints || []).length)),
        h('td', {}, h('button', { class: 'link edit-subnet', 'aria-label': `Edit ${sn.name}`, onclick: () => subnetBlade({ name: sn.name, addressPrefix: sn.properties.addressPrefix, privateEndpointNetworkPolicies: sn.properties.privateEndpointNetworkPolicies }, (x) => putSubnet(x, sn)) }, 'Edit'), ' ',
          h('button', { class: 'link delete-subnet', 'aria-label': `Delete ${sn.name}`, onclick: () => remove(sn) }, 'Delete'))))))));
}
