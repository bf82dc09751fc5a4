// vaultlink portal: key vaults: list, create (Basics, Networking with the private endpoint blade, Review + create),
// the vault's Networking page (firewalls; private endpoint connections: approve, reject, remove), and
// the ARM steps that make a private endpoint (shared with endpoints.js).
'use strict';

async function vaultsList() {
  const vaults = await loaders.vaults();
  const filter = h('input', { type: 'search', id: 'vault-filter', placeholder: 'Filter for any field...' });
  const body = h('tbody');
  const fill = () => {
    body.replaceChildren(...rowsOr(vaults.filter((v) => v.name.toLowerCase().includes(filter.value.toLowerCase())), 5, (v) => h('tr', { 'data-vault': v.name },
      h('td', {}, link(`#/vault/${enc(v.id)}`, v.name)), h('td', {}, rgOf(v.id)), h('td', {}, regionName(v.location)),
      h('td', {}, v.properties.publicNetworkAccess), h('td', {}, String(v.properties.privateEndpointConnections.length)))));
  };
  filter.addEventListener('input', fill); fill();
  show(h('h1', {}, 'Key vaults'), h('div', { class: 'subtitle' }, `${vaults.length} vault(s)`),
    h('div', { class: 'toolbar' }, h('button', { id: 'create-vault', onclick: () => { location.hash = '#/vaults/create'; } }, '+ Create'), filter),
    h('table', { id: 'vaults' }, h('thead', {}, h('tr', {}, ['Name', 'Resource group', 'Location', 'Public network access', 'Private endpoint connections'].map((t) => h('th', {}, t)))), body));
}

// The private endpoint blade, shared by the vault's Networking tab: collects what the
// private endpoint steps need, creates nothing by itself.
async function peBlade(ctx, onOk) {
  const [groups, locations, vnets] = [ctx.groups, ctx.locations, ctx.vnets];
  const rg = select('blade-pe-rg', groups.map((g) => g.name), ctx.rg);
  const loc = regionSelect('blade-pe-location', locations, ctx.location);
  const pre = ctx.pe || {};
  if (pre.rg) rg.value = pre.rg;
  if (pre.location) loc.value = pre.location;
  const name = h('input', { type: 'text', id: 'blade-pe-name', value: pre.name || '' });
  const vnet = h('select', { id: 'blade-pe-vnet' });
  const subnet = h('select', { id: 'blade-pe-subnet' });
  const dns = select('blade-pe-dns', [['yes', 'Yes'], ['no', 'No']], pre.dns === false ? 'no' : 'yes');
  const out = h('div');
  const fillVnets = () => {
    // As the portal does: only the virtual networks of the selected region.
    const inRegion = vnets.filter((v) => v.location === loc.value);
    vnet.replaceChildren(...inRegion.map((v) => h('option', { value: v.id }, `${v.name} (${rgOf(v.id)})`)));
    fillSubnets();
  };
  const fillSubnets = () => {
    const v = vnets.find((x) => x.id === vnet.value);
    subnet.replaceChildren(...((v && v.properties.subnets) || []).map((s) => h('option', { value: s.id }, `${s.name} (${s.properties.addressPrefix})`)));
  };
  loc.addEventListener('change', fillVnets); vnet.addEventListener('change', fillSubnets); fillVnets();
  if (pre.vnetId) { vnet.value = pre.vnetId; fillSubnets(); subnet.value = pre.subnetId; }
  const close = openBlade('pe-blade', 'Create private endpoint',
    h('div', { class: 'form' },
      field('Subscription', select('blade-pe-sub', [[S.sub, S.subName]])), field('Resource group', rg), field('Location', loc), field('Name', name),
      h('label', {}, 'Target sub-resource'), h('span', { id: 'blade-pe-subresource' }, 'vault'),
      h('div', { class: 'section' }, 'Networking'), field('Virtual network', vnet), field('Subnet', subnet),
      h('div', { class: 'section' }, 'Private DNS integration'), field('Integrate with private DNS zone', dns),
      h('label', {}, 'Private DNS zone'), h('span', {}, ZONE)),
    out,
    h('div', { class: 'toolbar' },
      h('button', { class: 'primary', id: 'blade-pe-ok', onclick: () => {
        out.replaceChildren();
        if (!name.value.trim()) return out.append(errorBox('The name is required.'));
        if (!subnet.value) return out.append(errorBox(`No virtual network with a subnet in ${loc.value}.`));
        onOk({ rg: rg.value, location: loc.value, name: name.value.trim(), vnetId: vnet.value, subnetId: subnet.value, dns: dns.value === 'yes', manual: false, tags: {} });
        close();
      } }, 'OK'),
      h('button', { id: 'blade-pe-cancel', onclick: () => close() }, 'Cancel')));
}

const draft = { vault: null };
async function createVault() {
  const [groups, locations, vnets] = await Promise.all([loaders.groups(), loaders.locations(), loaders.vnets()]);
  const d = draft.vault = draft.vault || { rg: groups[0] && groups[0].name, name: '', location: defaultRegion(groups, locations), sku: 'standard', publicAccess: true, endpoints: [] };
  const { go, render, start } = wizard([['basics', 'Basics'], ['networking', 'Networking'], ['review', 'Review + create']]);
  const basics = () => {
    // As the Azure portal does, the name is checked with Key Vault as it is typed.
    const name = nameField('Key vault name', 'vault-name', vaultNameProblem, d.name, (e) => { d.name = e.target.value.trim(); }, (n) => `✓ ${n} is available.`);
    const loc = regionSelect('vault-region', locations, d.location, (e) => { d.location = e.target.value; });
    const sku = select('vault-sku', [['standard', 'Standard'], ['premium', 'Premium']], d.sku, (e) => { d.sku = e.target.value; });
    return [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Project details'), field('Subscription', select('vault-sub', [[S.sub, S.subName]])), rgField('vault', groups, d, render),
      h('div', { class: 'section' }, 'Instance details'), name, field('Region', loc), field('Pricing tier', sku)),
    h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'next', onclick: () => go('networking') }, 'Next')) ];
  };
  const networking = () => {
    const toggle = h('input', { type: 'checkbox', id: 'public-access', checked: d.publicAccess, onchange: (e) => { d.publicAccess = e.target.checked; render(); } });
    const out = [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Network connectivity'),
      h('label', { for: 'public-access' }, 'Enable public access'), h('span', { class: 'toggle' }, toggle, d.publicAccess ? 'On' : 'Off'))];
    out.push(h('h2', {}, 'Private endpoint'),
      h('div', { class: 'toolbar' }, h('button', { id: 'add-private-endpoint', onclick: () => peBlade({ groups: groupsWith(groups, d), locations, vnets, rg: d.rg, location: d.location }, (pe) => { d.endpoints.push(pe); render(); }) }, '+ Create a private endpoint')),
      h('table', { id: 'draft-endpoints' }, h('thead', {}, h('tr', {}, ['Name', 'Resource group', 'Location', 'Subnet', 'Private DNS zone', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, d.endpoints.map((pe, i) => h('tr', { 'data-endpoint': pe.name }, h('td', {}, pe.name), h('td', {}, pe.rg), h('td', {}, regionName(pe.location)),
          h('td', {}, `${nameOf(pe.vnetId)}/${nameOf(pe.subnetId)}`), h('td', {}, pe.dns ? ZONE : 'none'),
          h('td', {}, h('button', { class: 'link edit', onclick: () => peBlade({ groups: groupsWith(groups, d), locations, vnets, pe }, (changed) => { d.endpoints[i] = changed; render(); }) }, 'Edit'), ' ',
            h('button', { class: 'link delete', onclick: () => { d.endpoints.splice(i, 1); render(); } }, 'Delete')))))),
      h('div', { class: 'toolbar' }, h('button', { onclick: () => go('basics') }, 'Previous'), h('button', { class: 'primary', id: 'review-create', onclick: () => go('review') }, 'Review + create')));
    return out;
  };
  const review = () => {
    const out = h('div', { id: 'deploy-result' });
    const vaultId = `${subPath()}/resourceGroups/${d.rg}/providers/Microsoft.KeyVault/vaults/${d.name}`;
    return [h('div', { class: 'kv', id: 'review' },
      h('div', {}, 'Subscription'), h('div', {}, S.subName), h('div', {}, 'Resource group'), h('div', {}, d.newRg ? `(new) ${d.rg}` : d.rg || ''),
      h('div', {}, 'Key vault name'), h('div', {}, d.name), h('div', {}, 'Region'), h('div', {}, regionName(d.location)), h('div', {}, 'Pricing tier'), h('div', {}, d.sku),
      h('div', {}, 'Public network access'), h('div', {}, d.publicAccess ? 'Enabled' : 'Disabled'),
      h('div', {}, 'Private endpoints'), h('div', {}, d.endpoints.map((p) => `${p.name} (${nameOf(p.vnetId)}/${nameOf(p.subnetId)}${p.dns ? ', ' + ZONE : ''})`).join('; ') || 'none')),
    reviewButtons(go, 'networking', out, {
      steps: async () => {
        const steps = [providerStep('Microsoft.KeyVault'), ...rgSteps(d), { path: withVer(vaultId, API.kv), createOnly: true, body: { location: d.location, properties: {
          tenantId: S.tenant, sku: { family: 'A', name: d.sku }, accessPolicies: [], enableRbacAuthorization: true,
          publicNetworkAccess: d.publicAccess ? 'Enabled' : 'Disabled' } } }];
        if (d.endpoints.length) steps.push(providerStep('Microsoft.Network'));
        for (const pe of d.endpoints) steps.push(...await endpointSteps(pe, vaultId));
        return steps;
      },
      done: async () => { draft.vault = null; return `#/vault/${enc(vaultId)}`; },
      check: async () => {
        const problems = [];
        if (!d.rg) problems.push('Basics: select or create a resource group.');
        const name = await vaultNameProblem(d.name);
        if (name) problems.push(`Basics: ${name}`);
        return problems;
      },
    }), out];
  };
  start('Create a key vault', { basics, networking, review });
}

// The ARM PUTs that make one private endpoint (and, with DNS integration, its zone, the zone's
// link to the endpoint's virtual network, and the zone group that writes the A record).
async function endpointSteps(pe, vaultId) {
  const peId = `${subPath()}/resourceGroups/${pe.rg}/providers/Microsoft.Network/privateEndpoints/${pe.name}`;
  const steps = [];
  const zoneRg = pe.zoneRg || pe.rg;
  const zoneId = `${subPath()}/resourceGroups/${zoneRg}/providers/Microsoft.Network/privateDnsZones/${ZONE}`;
  if (pe.dns) {
    steps.push({ path: withVer(zoneId, API.dns), body: { location: 'global' }, skipIfExists: true });
    let links = [];
    try { links = await loaders.links(zoneId); } catch (e) { if (e.status !== 404) throw e; }
    if (!links.some((l) => l.properties.virtualNetwork.id.toLowerCase() === pe.vnetId.toLowerCase())) {
      let linkName = `${nameOf(pe.vnetId)}-link`;
      while (links.some((l) => l.name.toLowerCase() === linkName.toLowerCase())) linkName += '-1';
      steps.push({ path: withVer(`${zoneId}/virtualNetworkLinks/${linkName}`, API.dns), body: { location: 'global', properties: { virtualNetwork: { id: pe.vnetId }, registrationEnabled: false } } });
    }
  }
  const conn = { name: pe.name, properties: { privateLinkServiceId: vaultId, groupIds: ['vault'] } };
  if (pe.manual) conn.properties.requestMessage = pe.requestMessage || 'Please approve my connection.';
  const props = { subnet: { id: pe.subnetId } };
  props[pe.manual ? 'manualPrivateLinkServiceConnections' : 'privateLinkServiceConnections'] = [conn];
  if (pe.nicName) props.customNetworkInterfaceName = pe.nicName;
  steps.push({ path: withVer(peId, API.net), body: { location: pe.location, tags: pe.tags || {}, properties: props }, createOnly: true });
  if (pe.dns) {
    steps.push({ path: withVer(`${peId}/privateDnsZoneGroups/default`, API.net), body: { properties: { privateDnsZoneConfigs: [{ name: 'privatelink-vaultcore-azure-net', properties: { privateDnsZoneId: zoneId } }] } } });
  }
  return steps;
}

// Runs a create's steps (portal.rs `deploy`); `validateOnly` tries them on a copy of the state.
async function deploy(steps, validateOnly) { return api('POST', 'deploy', { steps, validateOnly: !!validateOnly }); }
// The step that registers a resource provider when it is not yet (the portal does so at Create).
const providerStep = (ns) => ({ register: withVer(`${subPath()}/providers/${ns}`, API.res) });
// Review + create's validation step and buttons. `form.check` resolves to the problems the page
// sees itself (each naming its tab); when there are none, `form.steps` are validated by ARM on a
// copy of the state that is thrown away (nothing is made), so whatever Create would be refused
// (a bad name, a full subnet, an overlapping range, a missing role) is said before it. "Validation
// passed" enables Create, which deploys the steps; `form.done` resolves to the new resource's page.
function reviewButtons(go, prev, out, form) {
  const status = h('div', { id: 'validation', role: 'status' }, h('div', { class: 'info' }, 'Running final validation…'));
  const createBtn = h('button', { class: 'primary', id: 'create', disabled: true, onclick: async (ev) => {
    ev.target.disabled = true; out.replaceChildren(h('div', { class: 'info' }, 'Deployment is in progress…'));
    try { await deploy(await form.steps()); deployComplete(out, await form.done()); } catch (e) { out.replaceChildren(deployError(e)); ev.target.disabled = false; }
  } }, 'Create');
  (async () => {
    let problems;
    try {
      problems = await form.check();
      if (!problems.length) await deploy(await form.steps(), true);
    } catch (e) { problems = [stepProblem(e)]; }
    status.replaceChildren(problems.length
      ? h('div', { class: 'error' }, h('strong', {}, 'Validation failed. Required information is missing or not valid.'), h('ul', {}, problems.map((p) => h('li', {}, p))))
      : h('div', { class: 'ok' }, 'Validation passed'));
    createBtn.disabled = problems.length > 0;
  })();
  return h('div', {}, status, h('div', { class: 'toolbar' }, h('button', { id: 'previous', onclick: () => go(prev) }, 'Previous'), createBtn));
}
// A refused step as the validation says it: what it would have made, and ARM's reason.
function stepProblem(e) {
  const path = e.data && e.data.failedPath;
  if (!path) return e.message || String(e);
  const segs = path.split('?')[0].split('/').filter(Boolean);
  // subscriptions/{s}/resourcegroups/{g}, subscriptions/{s}/providers/{ns} (a registration), or
  // .../providers/{ns}/{type}/{name}[/{child type}/{child name}]: the type search.js labels.
  const at = segs.indexOf('providers');
  const type = segs.length === 4 ? 'Microsoft.Resources/resourceGroups' : at === 2 ? 'Resource provider'
    : [segs[at + 1], ...segs.slice(at + 2).filter((_, i) => i % 2 === 0)].join('/');
  return `${typeLabel(type)} ${segs[segs.length - 1]}: ${e.message}`;
}
// A vault name as Key Vault's checkNameAvailability judges it: '' when it may be used, else why not.
async function vaultNameProblem(name) {
  if (!name) return 'The key vault name is required.';
  const avail = await arm('POST', `${subPath()}/providers/Microsoft.KeyVault/checkNameAvailability`, API.kv, { name, type: 'Microsoft.KeyVault/vaults' });
  return avail && avail.nameAvailable === false ? avail.message : '';
}
function deployComplete(out, resourceHash) {
  S.dirty = false;
  out.replaceChildren(h('div', { class: 'ok' }, 'Your deployment is complete.'), h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'go-to-resource', onclick: () => { location.hash = resourceHash; } }, 'Go to resource')));
}
function deployError(e) {
  const d = e.data || {};
  const box = errorBox(e, d.failedPath ? `Deployment failed at ${nameOf(d.failedPath.split('?')[0])}` : 'Deployment failed');
  if (d.rolledBack && d.rolledBack.length) box.append(h('div', {}, '\nRolled back (nothing is left half-made): ' + d.rolledBack.map((r) => nameOf(r.path.split('?')[0]) + (r.deleted ? '' : ' (NOT deleted)')).join(', ')));
  else if (d.failedPath) box.append(h('div', {}, '\nNothing was created.'));
  return box;
}

async function vaultPage(id, section, tab) {
  const v = await arm('GET', id, API.kv);
  const base = `#/vault/${enc(id)}`;
  const nav = h('div', { class: 'tabs' }, h('button', { id: 'vault-overview', class: section ? '' : 'active', onclick: () => { location.hash = base; } }, 'Overview'),
    h('button', { id: 'vault-networking', class: section === 'networking' ? 'active' : '', onclick: () => { location.hash = base + '/networking'; } }, 'Networking'),
    h('button', { id: 'vault-diagnose', class: section === 'diagnose' ? 'active' : '', onclick: () => { location.hash = base + '/diagnose'; } }, 'Diagnose'));
  const header = [h('h1', {}, v.name), h('div', { class: 'subtitle' }, 'Key vault'), nav];
  // The doctor for this vault, in place.
  if (section === 'diagnose') return show(...header, ...(await doctorForm(() => v.name, null)));
  if (section !== 'networking') {
    const p = v.properties;
    return show(...header, h('div', { class: 'kv', id: 'vault-essentials' },
      h('div', {}, 'Resource group'), h('div', {}, rgOf(v.id)), h('div', {}, 'Location'), h('div', {}, regionName(v.location)),
      h('div', {}, 'Subscription ID'), h('div', {}, S.sub), h('div', {}, 'Vault URI'), h('div', {}, p.vaultUri),
      h('div', {}, 'Pricing tier'), h('div', {}, p.sku.name), h('div', {}, 'Public network access'), h('div', {}, p.publicNetworkAccess),
      h('div', {}, 'Permission model'), h('div', {}, p.enableRbacAuthorization ? 'Azure role-based access control' : 'Vault access policy'),
      h('div', {}, 'Private endpoint connections'), h('div', {}, String(p.privateEndpointConnections.length))));
  }
  const sub = h('div', { class: 'tabs' },
    h('button', { id: 'tab-firewalls', class: tab === 'connections' ? '' : 'active', onclick: () => { location.hash = base + '/networking'; } }, 'Firewalls and virtual networks'),
    h('button', { id: 'tab-connections', class: tab === 'connections' ? 'active' : '', onclick: () => { location.hash = base + '/networking/connections'; } }, 'Private endpoint connections'));
  show(...header, sub, tab === 'connections' ? await connectionsTab(v) : firewallTab(v));
}

function firewallTab(v) {
  const p = v.properties;
  const acl = p.networkAcls || {};
  const current = p.publicNetworkAccess === 'Disabled' ? 'disabled' : acl.defaultAction === 'Deny' ? 'selected' : 'all';
  const radio = (val, text) => h('label', { class: 'toggle' }, h('input', { type: 'radio', name: 'pna', id: 'pna-' + val, value: val, checked: current === val }), text);
  const ips = h('textarea', { id: 'ip-rules', rows: 3 }, (acl.ipRules || []).map((r) => r.value).join('\n'));
  const bypass = h('input', { type: 'checkbox', id: 'bypass', checked: acl.bypass !== 'None' });
  const out = h('div', { id: 'firewall-result' });
  return h('div', {},
    h('div', { class: 'form' }, h('div', { class: 'section' }, 'Public network access'),
      h('label', {}, 'Allow access from'), h('div', {}, radio('all', 'Allow public access from all networks'), h('br'), radio('selected', 'Allow public access from specific virtual networks and IP addresses'), h('br'), radio('disabled', 'Disable public access')),
      h('label', { for: 'ip-rules' }, 'IPv4 address or CIDR (one per line)'), ips,
      h('label', {}, 'Virtual networks'), h('div', {}, (acl.virtualNetworkRules || []).map((r) => h('div', {}, r.id)).concat(acl.virtualNetworkRules && acl.virtualNetworkRules.length ? [] : ['none'])),
      h('label', { for: 'bypass' }, 'Allow trusted Microsoft services to bypass this firewall'), bypass),
    h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'apply-firewall', onclick: async () => {
      out.replaceChildren();
      const mode = (document.querySelector('input[name=pna]:checked') || {}).value || current;
      try {
        await arm('PATCH', v.id, API.kv, { properties: {
          publicNetworkAccess: mode === 'disabled' ? 'Disabled' : 'Enabled',
          networkAcls: { defaultAction: mode === 'all' ? 'Allow' : 'Deny', bypass: bypass.checked ? 'AzureServices' : 'None',
            ipRules: ips.value.split(/\s+/).filter(Boolean).map((value) => ({ value })), virtualNetworkRules: acl.virtualNetworkRules || [] } } });
        out.replaceChildren(h('div', { class: 'ok' }, 'Saved.'));
      } catch (e) { out.replaceChildren(errorBox(e)); }
    } }, 'Apply')), out);
}

async function connectionsTab(v) {
  const conns = v.properties.privateEndpointConnections;
  const out = h('div', { id: 'connection-result' });
  const selected = () => [...document.querySelectorAll('input.pec:checked')].map((c) => c.value);
  const syncActions = () => { for (const b of document.querySelectorAll('button.pec-action')) b.disabled = !selected().length; };
  const act = (verb) => async () => {
    const names = selected();
    out.replaceChildren();
    if (!names.length) return out.append(errorBox('Select a connection first.'));
    const desc = h('textarea', { id: 'pec-description', rows: 3 });
    const title = { approve: 'Approve connection', reject: 'Reject connection', remove: 'Remove connection' }[verb];
    const close = openBlade('pec-dialog', title,
      h('p', {}, `${title.split(' ')[0]} ${names.join(', ')}?`),
      verb === 'remove' ? null : h('div', { class: 'form' }, field('Description', desc)),
      h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'pec-yes', onclick: async () => {
        close();
        try {
          for (const n of names) {
            const path = `${v.id}/privateEndpointConnections/${n}`;
            if (verb === 'remove') await arm('DELETE', path, API.kv);
            else await arm('PUT', path, API.kv, { properties: { privateLinkServiceConnectionState: { status: verb === 'approve' ? 'Approved' : 'Rejected', description: desc.value } } });
          }
          await route();
          $('#connection-result').append(h('div', { class: 'ok' }, `${title}: done.`));
        } catch (e) { out.replaceChildren(errorBox(e)); }
      } }, 'Yes'), h('button', { id: 'pec-no', onclick: () => close() }, 'No')));
  };
  return h('div', {},
    h('div', { class: 'toolbar' },
      h('button', { id: 'pec-create', onclick: () => { location.hash = `#/endpoints/create?vault=${enc(v.id)}`; } }, '+ Create'),
      // Enabled only while a connection is selected, as in the Azure portal.
      ...['approve', 'reject', 'remove'].map((verb) => h('button', { id: `pec-${verb}`, class: 'pec-action', disabled: true, onclick: act(verb) }, verb[0].toUpperCase() + verb.slice(1))),
      h('button', { id: 'pec-refresh', onclick: () => route() }, 'Refresh')),
    out,
    h('table', { id: 'connections' }, h('thead', {}, h('tr', {}, ['', 'Connection name', 'Connection state', 'Provisioning state', 'Private endpoint', 'Description'].map((t) => h('th', {}, t)))),
      h('tbody', {}, conns.length ? conns.map((c) => {
        const p = c.properties; const n = nameOf(c.id); const st = p.privateLinkServiceConnectionState;
        return h('tr', { 'data-connection': n, 'data-endpoint': nameOf(p.privateEndpoint.id) },
          h('td', {}, h('input', { type: 'checkbox', class: 'pec', value: n, 'aria-label': n, onchange: syncActions })), h('td', {}, n), h('td', { class: 'status' }, stateSpan(st.status)),
          h('td', { class: 'provisioning' }, p.provisioningState), h('td', {}, link(`#/endpoint/${enc(p.privateEndpoint.id)}`, nameOf(p.privateEndpoint.id))), h('td', { class: 'description' }, st.description || ''));
      }) : h('tr', {}, h('td', { colspan: 6 }, 'No private endpoint connections.')))));
}

