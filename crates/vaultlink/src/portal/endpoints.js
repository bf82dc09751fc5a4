// vaultlink portal: private endpoints: list, the creation steps (Basics, Resource, Virtual Network, DNS,
// Tags, Review + create), the endpoint's page and its network interface.
'use strict';

async function endpointsList() {
  const [eps, vaults] = await Promise.all([loaders.endpoints(), loaders.vaults()]);
  show(h('h1', {}, 'Private endpoints'),
    h('div', { class: 'toolbar' }, h('button', { id: 'create-endpoint', onclick: () => { location.hash = '#/endpoints/create'; } }, '+ Create')),
    h('table', { id: 'endpoints' }, h('thead', {}, h('tr', {}, ['Name', 'Resource group', 'Location', 'Subnet', 'Private link resource', 'Connection state'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rowsOr(eps, 6, (e) => { const c = peConnection(e); return h('tr', { 'data-endpoint': e.name },
        h('td', {}, link(`#/endpoint/${enc(e.id)}`, e.name)), h('td', {}, rgOf(e.id)), h('td', {}, regionName(e.location)), h('td', {}, subnetLabel(e.properties.subnet.id)),
        h('td', {}, c ? vaultLink(c.properties.privateLinkServiceId, vaults) : ''), h('td', {}, c ? stateSpan(c.properties.privateLinkServiceConnectionState.status) : '')); }))));
}
const peConnection = (e) => (e.properties.privateLinkServiceConnections || []).concat(e.properties.manualPrivateLinkServiceConnections || [])[0];
const subnetLabel = (id) => { const p = id.split('/'); return `${p[8]}/${p[10]}`; };
const vaultLink = (id, vaults) => (vaults.some((v) => v.id.toLowerCase() === id.toLowerCase()) ? link(`#/vault/${enc(id)}`, nameOf(id)) : nameOf(id));

const PE_TYPE = 'Microsoft.Network/privateEndpoints';
async function createEndpoint(vaultId) {
  const [groups, locations, vnets, vaults] = await Promise.all([loaders.groups(), loaders.locations(), loaders.vnets(), loaders.vaults()]);
  const d = { rg: groups[0] && groups[0].name, name: '', nicName: '', nicEdited: false, location: defaultRegion(groups, locations), method: 'directory',
    resourceType: 'Microsoft.KeyVault/vaults', vaultId: vaultId || (vaults[0] && vaults[0].id) || '', resourceId: vaultId || '', requestMessage: '', vnetId: '', subnetId: '', dns: true, zoneRg: '', tags: [] };
  // Opened from a vault, the endpoint starts in the vault's region.
  const from = vaults.find((v) => v.id === vaultId);
  if (from) d.location = from.location;
  const tabDefs = [['basics', 'Basics'], ['resource', 'Resource'], ['vnet', 'Virtual Network'], ['dns', 'DNS'], ['tags', 'Tags'], ['review', 'Review + create']];
  const { go, nav, render, start } = wizard(tabDefs);
  // As the portal does: only the virtual networks in the endpoint's region; the first by default.
  const pickNetwork = () => regionNetwork(vnets, d);
  const pages = {
    basics: () => {
      const nic = h('input', { type: 'text', id: 'pe-nic', value: d.nicName, oninput: (e) => { d.nicName = e.target.value; d.nicEdited = true; } });
      return [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Project details'), field('Subscription', select('pe-sub', [[S.sub, S.subName]])),
        rgField('pe', groups, d, render),
        h('div', { class: 'section' }, 'Instance details'),
        nameField('Name', 'pe-name', judgeName(PE_TYPE, pathInGroup(d, PE_TYPE, API.net)), d.name, (e) => { d.name = e.target.value.trim(); if (!d.nicEdited) { d.nicName = d.name ? d.name + '-nic' : ''; nic.value = d.nicName; } }),
        field('Network Interface Name', nic),
        field('Region', regionSelect('pe-region', locations, d.location, (e) => { d.location = e.target.value; d.vnetId = ''; d.subnetId = ''; }))),
      nav(null, 'resource')];
    },
    resource: () => {
      const radio = (val, text) => h('label', { class: 'toggle' }, h('input', { type: 'radio', name: 'method', id: 'method-' + val, value: val, checked: d.method === val, onchange: () => { d.method = val; render(); } }), text);
      const rows = [h('div', { class: 'section' }, 'Connection method'), h('label', {}, 'Connection method'), h('div', {}, radio('directory', 'Connect to an Azure resource in my directory.'), h('br'), radio('resourceid', 'Connect to an Azure resource by resource ID or alias.'))];
      if (d.method === 'directory') {
        const sub = h('select', { id: 'pe-subresource' }, h('option', { value: 'vault' }, 'vault'));
        rows.push(field('Subscription', select('pe-resource-sub', [[S.sub, S.subName]])),
          field('Resource type', select('pe-resource-type', ['Microsoft.KeyVault/vaults'], d.resourceType)),
          field('Resource', select('pe-resource', vaults.map((v) => [v.id, v.name]), d.vaultId, (e) => { d.vaultId = e.target.value; })),
          field('Target sub-resource', sub));
      } else {
        rows.push(field('Resource ID or alias', h('input', { type: 'text', id: 'pe-resource-id', value: d.resourceId, oninput: (e) => { d.resourceId = e.target.value.trim(); } })),
          field('Target sub-resource', h('input', { type: 'text', id: 'pe-subresource', value: 'vault', readonly: true })),
          field('Request message', h('textarea', { id: 'pe-request-message', rows: 2, oninput: (e) => { d.requestMessage = e.target.value; } }, d.requestMessage)));
      }
      return [h('div', { class: 'form' }, rows), nav('basics', 'vnet')];
    },
    vnet: () => {
      const { inRegion, subnets } = pickNetwork();
      return [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Networking'),
        field('Virtual network', select('pe-vnet', inRegion.map((x) => [x.id, `${x.name} (${rgOf(x.id)})`]), d.vnetId, (e) => { d.vnetId = e.target.value; render(); })),
        field('Subnet', select('pe-subnet', subnets.map((s) => [s.id, `${s.name} (${s.properties.addressPrefix})`]), d.subnetId, (e) => { d.subnetId = e.target.value; })),
        h('label', {}, 'Private IP configuration'), h('span', {}, 'Dynamically allocate IP address')),
      inRegion.length ? null : h('div', { class: 'info' }, `No virtual network in ${d.location}. The private endpoint and its virtual network must be in the same region.`),
      nav('resource', 'dns')];
    },
    dns: () => [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Private DNS integration'),
      field('Integrate with private DNS zone', select('pe-dns', [['yes', 'Yes'], ['no', 'No']], d.dns ? 'yes' : 'no', (e) => { d.dns = e.target.value === 'yes'; })),
      field('Private DNS zone resource group', select('pe-zone-rg', groupsWith(groups, d).map((g) => g.name), d.zoneRg || d.rg, (e) => { d.zoneRg = e.target.value; })),
      h('label', {}, 'Private DNS zone'), h('span', {}, ZONE)), nav('vnet', 'tags')],
    tags: () => {
      const rows = d.tags.map((t, i) => h('div', { class: 'toolbar' }, h('input', { type: 'text', class: 'tag-name', value: t.name, oninput: (e) => { d.tags[i].name = e.target.value; } }),
        h('input', { type: 'text', class: 'tag-value', value: t.value, oninput: (e) => { d.tags[i].value = e.target.value; } })));
      return [h('p', {}, 'Tags are name/value pairs (optional).'), ...rows,
        h('div', { class: 'toolbar' }, h('button', { id: 'add-tag', onclick: () => { d.tags.push({ name: '', value: '' }); render(); } }, '+ Add tag')), nav('dns', 'review')];
    },
    review: () => {
      pickNetwork();
      const out = h('div', { id: 'deploy-result' });
      const target = d.method === 'directory' ? d.vaultId : d.resourceId;
      return [h('div', { class: 'kv', id: 'review' },
        h('div', {}, 'Name'), h('div', {}, d.name), h('div', {}, 'Resource group'), h('div', {}, d.newRg ? `(new) ${d.rg}` : d.rg), h('div', {}, 'Region'), h('div', {}, regionName(d.location)),
        h('div', {}, 'Network interface name'), h('div', {}, d.nicName), h('div', {}, 'Connection method'), h('div', {}, d.method === 'directory' ? 'Automatic (resource in my directory)' : 'Manual (request approval)'),
        h('div', {}, 'Resource'), h('div', {}, nameOf(target)), h('div', {}, 'Target sub-resource'), h('div', {}, 'vault'),
        h('div', {}, 'Subnet'), h('div', {}, d.subnetId ? subnetLabel(d.subnetId) : ''), h('div', {}, 'Private DNS zone'), h('div', {}, d.dns ? ZONE : 'No integration'),
        h('div', {}, 'Tags'), h('div', {}, d.tags.filter((t) => t.name).map((t) => `${t.name}: ${t.value}`).join(', ') || 'none')),
      reviewButtons(go, 'tags', out, {
        steps: async () => {
          const tags = Object.fromEntries(d.tags.filter((t) => t.name).map((t) => [t.name, t.value]));
          const pe = { rg: d.rg, location: d.location, name: d.name, nicName: d.nicName, vnetId: d.vnetId, subnetId: d.subnetId, dns: d.dns, zoneRg: d.zoneRg || d.rg, manual: d.method !== 'directory', requestMessage: d.requestMessage, tags };
          return [providerStep('Microsoft.Network'), ...rgSteps(d), ...await endpointSteps(pe, target)];
        },
        done: async () => `#/endpoint/${enc(`${subPath()}/resourceGroups/${d.rg}/providers/Microsoft.Network/privateEndpoints/${d.name}`)}`,
        check: async () => [!d.rg && 'Basics: select or create a resource group.', !d.name && 'Basics: the private endpoint name is required.',
          ...(await Promise.all([nameProblem(PE_TYPE, d.name), nameProblem('Microsoft.Network/networkInterfaces', d.nicName)])).map((p) => p && `Basics: ${p}`),
          !target && 'Resource: select the resource to connect to.',
          !d.subnetId && `Virtual Network: select a virtual network and subnet in ${d.location} (the endpoint and its virtual network must be in the same region).`].filter(Boolean),
      }), out];
    },
  };
  start('Create a private endpoint', pages);
}

async function endpointPage(id) {
  const e = await arm('GET', id, API.net);
  const c = peConnection(e);
  const nicId = e.properties.networkInterfaces[0].id;
  const [nic, groups] = await Promise.all([arm('GET', nicId, API.net), listOf(`${id}/privateDnsZoneGroups`, API.net)]);
  const ip = nic.properties.ipConfigurations[0].properties.privateIPAddress;
  const st = c ? c.properties.privateLinkServiceConnectionState : {};
  const vnetId = e.properties.subnet.id.split('/subnets/')[0];
  const out = h('div');
  const del = deleteConfirm(`Delete private endpoint ${e.name}? Its network interface goes with it, and the vault's connection is removed.`,
    async () => { await arm('DELETE', id, API.net); location.hash = '#/endpoints'; }, out);
  const dnsRows = groups.flatMap((g) => g.properties.privateDnsZoneConfigs.flatMap((z) => (z.properties.recordSets || []).map((r) =>
    h('tr', {}, h('td', {}, r.fqdn), h('td', {}, (r.ipAddresses || []).join(', ')), h('td', {}, link(`#/zone/${enc(z.properties.privateDnsZoneId)}`, nameOf(z.properties.privateDnsZoneId)))))));
  show(h('h1', {}, e.name), h('div', { class: 'subtitle' }, 'Private endpoint'),
    h('div', { class: 'kv', id: 'endpoint-essentials' },
      h('div', {}, 'Resource group'), h('div', {}, rgOf(e.id)), h('div', {}, 'Location'), h('div', {}, regionName(e.location)),
      h('div', {}, 'Virtual network/subnet'), h('div', {}, subnetLabel(e.properties.subnet.id)), h('div', {}, 'Virtual network'), h('div', {}, link(`#/vnet/${enc(vnetId)}`, nameOf(vnetId))),
      h('div', {}, 'Network interface'), h('div', {}, link(`#/nic/${enc(nicId)}`, nameOf(nicId))),
      h('div', {}, 'Private IP address'), h('div', { id: 'endpoint-ip' }, ip),
      h('div', {}, 'Private link resource'), h('div', {}, c ? link(`#/vault/${enc(c.properties.privateLinkServiceId)}`, nameOf(c.properties.privateLinkServiceId)) : ''),
      h('div', {}, 'Target sub-resource'), h('div', {}, c ? c.properties.groupIds.join(', ') : ''),
      h('div', {}, 'Connection status'), h('div', { id: 'endpoint-status' }, stateSpan(st.status || '')),
      h('div', {}, 'Provisioning state'), h('div', {}, e.properties.provisioningState),
      h('div', {}, 'Request/Response'), h('div', {}, st.description || ''),
      h('div', {}, 'Tags'), h('div', {}, Object.entries(e.tags || {}).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none')),
    h('h2', {}, 'DNS configuration'),
    h('table', { id: 'endpoint-dns' }, h('thead', {}, h('tr', {}, ['FQDN', 'IP addresses', 'Private DNS zone'].map((t) => h('th', {}, t)))),
      h('tbody', {}, dnsRows.length ? dnsRows : h('tr', {}, h('td', { colspan: 3 }, 'No private DNS zone group: the vault name resolves through whatever zone the VNet is linked to.')))),
    h('div', { class: 'toolbar' }, h('button', { id: 'delete-endpoint', onclick: del.ask }, 'Delete')), del.box, out);
}

async function nicPage(id) {
  const n = await arm('GET', id, API.net);
  const ipc = n.properties.ipConfigurations[0].properties;
  show(h('h1', {}, n.name), h('div', { class: 'subtitle' }, 'Network interface'),
    h('div', { class: 'kv', id: 'nic-essentials' },
      h('div', {}, 'Resource group'), h('div', {}, rgOf(n.id)), h('div', {}, 'Location'), h('div', {}, regionName(n.location)),
      h('div', {}, 'Private IP address'), h('div', { id: 'nic-ip' }, ipc.privateIPAddress),
      h('div', {}, 'Virtual network/subnet'), h('div', {}, subnetLabel(ipc.subnet.id)),
      h('div', {}, 'Private endpoint'), h('div', {}, n.properties.privateEndpoint ? link(`#/endpoint/${enc(n.properties.privateEndpoint.id)}`, nameOf(n.properties.privateEndpoint.id)) : 'none'),
      h('div', {}, 'FQDNs'), h('div', {}, ipc.privateLinkConnectionProperties ? ipc.privateLinkConnectionProperties.fqdns.join(', ') : '')));
}

