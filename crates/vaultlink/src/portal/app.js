// vaultlink portal: the seed's "Azure portal" tab as a page. Every read and change is an ARM
// request through /portal/api/arm (the same routes `az` uses) or /portal/api/deploy (several ARM
// PUTs, undone together on failure); this file holds no Azure rule, only forms and pictures.
'use strict';

const API = { kv: '2023-07-01', net: '2024-05-01', dns: '2024-06-01', res: '2022-09-01' };
const ZONE = 'privatelink.vaultcore.azure.net';
const S = { csrf: null, principal: null, sub: null, tenant: null };

// ---- DOM helpers (text is always set as text, never parsed as HTML)
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}
const $ = (sel) => document.querySelector(sel);
const main = () => $('#main');
function fill(el, ...nodes) { el.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false)); }
function show(...nodes) { fill(main(), ...nodes); }
function errorBox(e, prefix) {
  const code = e && e.code ? `\n(Code: ${e.code})` : '';
  return h('div', { class: 'error', role: 'alert' }, (prefix ? prefix + ': ' : '') + (e && e.message ? e.message : String(e)) + code);
}
function field(label, input) { return [h('label', { for: input.id }, label), input]; }
function select(id, options, value, onchange) {
  const s = h('select', { id, onchange });
  for (const o of options) {
    const [v, t] = Array.isArray(o) ? o : [o, o];
    s.append(h('option', { value: v }, t));
  }
  if (value !== undefined) s.value = value;
  return s;
}
const nameOf = (id) => (id || '').split('/').filter(Boolean).pop() || '';
const rgOf = (id) => (id || '').split('/')[4] || '';
const link = (href, text) => h('a', { href }, text);
const enc = encodeURIComponent;
function stateSpan(s) { return h('span', { class: 'state-' + s }, s); }

// ---- the API
async function api(method, path, body) {
  const r = await fetch('/portal/api/' + path, {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': S.csrf || '' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!r.ok) {
    const err = (data && data.error) || {};
    const e = new Error(err.message || `${r.status} ${r.statusText}`);
    e.code = err.code; e.status = r.status; e.data = data;
    if (r.status === 401 && err.code === 'NotSignedIn') { S.csrf = null; renderSignIn(); }
    throw e;
  }
  return data;
}
const withVer = (path, ver) => path + (path.includes('?') ? '&' : '?') + 'api-version=' + ver;
const arm = (method, path, ver, body) => api(method, 'arm' + withVer(path, ver), body);
const subPath = () => `/subscriptions/${S.sub}`;
async function listOf(path, ver) { return ((await arm('GET', path, ver)) || {}).value || []; }
const loaders = {
  vaults: () => listOf(`${subPath()}/providers/Microsoft.KeyVault/vaults`, API.kv),
  groups: () => listOf(`${subPath()}/resourcegroups`, API.res),
  locations: () => listOf(`${subPath()}/locations`, API.res),
  vnets: () => listOf(`${subPath()}/providers/Microsoft.Network/virtualNetworks`, API.net),
  nics: () => listOf(`${subPath()}/providers/Microsoft.Network/networkInterfaces`, API.net),
  endpoints: () => listOf(`${subPath()}/providers/Microsoft.Network/privateEndpoints`, API.net),
  zones: () => listOf(`${subPath()}/providers/Microsoft.Network/privateDnsZones`, API.dns),
  links: (zoneId) => listOf(`${zoneId}/virtualNetworkLinks`, API.dns),
  records: (zoneId) => listOf(`${zoneId}/ALL`, API.dns),
};

// ---- sign-in
function renderSignIn(message) {
  $('#nav').hidden = true; $('#signout').hidden = true; $('#whoami').textContent = '';
  const id = h('input', { type: 'text', id: 'client-id', autocomplete: 'username', placeholder: 'a9b8c7d6-e5f4-4321-9abc-def012345678' });
  const secret = h('input', { type: 'password', id: 'client-secret', autocomplete: 'current-password' });
  const out = h('div', { id: 'signin-result' });
  if (message) out.append(h('div', { class: 'info' }, message));
  const form = h('form', { class: 'signin', id: 'signin-form', onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    try {
      const s = await fetch('/portal/api/signin', {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ clientId: id.value, clientSecret: secret.value }),
      });
      const data = await s.json();
      if (!s.ok) { const e = new Error(data.error.message); e.code = data.error.code; throw e; }
      await startSession(data);
    } catch (e) { out.append(errorBox(e, 'Sign-in failed')); }
  } },
  h('h1', {}, 'Sign in'),
  h('p', { class: 'subtitle' }, 'As a service principal of the vaultlink tenant (the seeded developer principal, or one from `vaultlink principal add`). The portal acts with its permissions.'),
  h('div', { class: 'form' }, field('Client ID', id), field('Client secret', secret)),
  h('button', { class: 'primary', type: 'submit', id: 'signin' }, 'Sign in'), out);
  show(form);
}

async function startSession(data) {
  S.csrf = data.csrfToken; S.principal = data.principal;
  const subs = await listOf('/subscriptions', API.res);
  if (!subs.length) throw new Error('The principal sees no subscription.');
  S.sub = subs[0].subscriptionId; S.tenant = subs[0].tenantId;
  $('#whoami').textContent = `${S.principal.displayName} (${S.principal.appId}) · ${subs[0].displayName}`;
  $('#nav').hidden = false; $('#signout').hidden = false;
  if (!location.hash || location.hash === '#/') location.hash = '#/vaults';
  else route();
}

// ---- routing
const routes = [
  [/^#\/vaults\/create$/, () => createVault()],
  [/^#\/vaults$/, () => vaultsList()],
  [/^#\/vault\/([^/]+)(?:\/(\w+))?(?:\/(\w+))?$/, (m) => vaultPage(decodeURIComponent(m[1]), m[2], m[3])],
  [/^#\/endpoints\/create(?:\?vault=(.*))?$/, (m) => createEndpoint(m[1] ? decodeURIComponent(m[1]) : '')],
  [/^#\/endpoints$/, () => endpointsList()],
  [/^#\/endpoint\/([^/]+)$/, (m) => endpointPage(decodeURIComponent(m[1]))],
  [/^#\/nic\/([^/]+)$/, (m) => nicPage(decodeURIComponent(m[1]))],
  [/^#\/zones$/, () => zonesList()],
  [/^#\/zone\/([^/]+)(?:\/(\w+))?$/, (m) => zonePage(decodeURIComponent(m[1]), m[2])],
  [/^#\/vnets$/, () => vnetsList()],
  [/^#\/topology$/, () => topology()],
  [/^#\/doctor(?:\?vault=(.*))?$/, (m) => doctor(m[1] ? decodeURIComponent(m[1]) : '')],
];
async function route() {
  if (!S.csrf) return;
  const hash = location.hash || '#/vaults';
  const section = (hash.match(/^#\/(\w+)/) || [])[1] || '';
  for (const a of document.querySelectorAll('#nav a')) {
    const n = a.dataset.nav;
    a.classList.toggle('active', section.startsWith(n.slice(0, -1)));
  }
  for (const [re, fn] of routes) {
    const m = hash.match(re);
    if (m) {
      show(h('p', {}, 'Loading…'));
      try { await fn(m); } catch (e) { if (S.csrf) show(errorBox(e)); }
      return;
    }
  }
  show(h('p', {}, 'No such page.'));
}

// ---- key vaults
async function vaultsList() {
  const vaults = await loaders.vaults();
  const filter = h('input', { type: 'search', id: 'vault-filter', placeholder: 'Filter for any field...' });
  const body = h('tbody');
  const fill = () => {
    body.replaceChildren(...vaults.filter((v) => v.name.toLowerCase().includes(filter.value.toLowerCase())).map((v) => h('tr', { 'data-vault': v.name },
      h('td', {}, link(`#/vault/${enc(v.id)}`, v.name)), h('td', {}, rgOf(v.id)), h('td', {}, v.location),
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
  const modal = $('#modal');
  const rg = select('blade-pe-rg', groups.map((g) => g.name), ctx.rg);
  const loc = select('blade-pe-location', locations.map((l) => l.name), ctx.location);
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
  const close = () => { modal.hidden = true; modal.replaceChildren(); };
  modal.replaceChildren(h('div', { class: 'blade', id: 'pe-blade' },
    h('h1', {}, 'Create private endpoint'),
    h('div', { class: 'form' },
      field('Subscription', select('blade-pe-sub', [S.sub])), field('Resource group', rg), field('Location', loc), field('Name', name),
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
      h('button', { onclick: close }, 'Cancel'))));
  modal.hidden = false;
}

const draft = { vault: null };
async function createVault() {
  const [groups, locations, vnets] = await Promise.all([loaders.groups(), loaders.locations(), loaders.vnets()]);
  const d = draft.vault = draft.vault || { rg: groups[0] && groups[0].name, name: '', location: locations[0] && locations[0].name, sku: 'standard', publicAccess: true, endpoints: [] };
  let tab = 'basics';
  const body = h('div');
  const tabs = h('div', { class: 'tabs' });
  const tabDefs = [['basics', 'Basics'], ['networking', 'Networking'], ['review', 'Review + create']];
  const go = (t) => { tab = t; render(); };
  const render = () => {
    tabs.replaceChildren(...tabDefs.map(([k, t]) => h('button', { class: k === tab ? 'active' : '', id: 'tab-' + k, onclick: () => go(k) }, t)));
    body.replaceChildren(...(tab === 'basics' ? basics() : tab === 'networking' ? networking() : review()));
  };
  const basics = () => {
    if (!groups.length) return [h('div', { class: 'error' }, 'No resource group: create one first (az group create).')];
    const rg = select('vault-rg', groups.map((g) => g.name), d.rg, (e) => { d.rg = e.target.value; });
    const name = h('input', { type: 'text', id: 'vault-name', value: d.name, oninput: (e) => { d.name = e.target.value.trim(); } });
    const loc = select('vault-region', locations.map((l) => l.name), d.location, (e) => { d.location = e.target.value; });
    const sku = select('vault-sku', [['standard', 'Standard'], ['premium', 'Premium']], d.sku, (e) => { d.sku = e.target.value; });
    return [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Project details'), field('Subscription', select('vault-sub', [S.sub])), field('Resource group', rg),
      h('div', { class: 'section' }, 'Instance details'), field('Key vault name', name), field('Region', loc), field('Pricing tier', sku)),
    h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'next', onclick: () => go('networking') }, 'Next')) ];
  };
  const networking = () => {
    const toggle = h('input', { type: 'checkbox', id: 'public-access', checked: d.publicAccess, onchange: (e) => { d.publicAccess = e.target.checked; render(); } });
    const out = [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Network connectivity'),
      h('label', { for: 'public-access' }, 'Enable public access'), h('span', { class: 'toggle' }, toggle, d.publicAccess ? 'On' : 'Off'))];
    out.push(h('h2', {}, 'Private endpoint'),
      h('div', { class: 'toolbar' }, h('button', { id: 'add-private-endpoint', onclick: () => peBlade({ groups, locations, vnets, rg: d.rg, location: d.location }, (pe) => { d.endpoints.push(pe); render(); }) }, '+ Create a private endpoint')),
      h('table', { id: 'draft-endpoints' }, h('thead', {}, h('tr', {}, ['Name', 'Resource group', 'Location', 'Subnet', 'Private DNS zone', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, d.endpoints.map((pe, i) => h('tr', { 'data-endpoint': pe.name }, h('td', {}, pe.name), h('td', {}, pe.rg), h('td', {}, pe.location),
          h('td', {}, `${nameOf(pe.vnetId)}/${nameOf(pe.subnetId)}`), h('td', {}, pe.dns ? ZONE : 'none'),
          h('td', {}, h('button', { class: 'link edit', onclick: () => peBlade({ groups, locations, vnets, pe }, (changed) => { d.endpoints[i] = changed; render(); }) }, 'Edit'), ' ',
            h('button', { class: 'link delete', onclick: () => { d.endpoints.splice(i, 1); render(); } }, 'Delete')))))),
      h('div', { class: 'toolbar' }, h('button', { onclick: () => go('basics') }, 'Previous'), h('button', { class: 'primary', id: 'review-create', onclick: () => go('review') }, 'Review + create')));
    return out;
  };
  const review = () => {
    const out = h('div', { id: 'deploy-result' });
    return [h('div', { class: 'kv', id: 'review' },
      h('div', {}, 'Subscription'), h('div', {}, S.sub), h('div', {}, 'Resource group'), h('div', {}, d.rg || ''),
      h('div', {}, 'Key vault name'), h('div', {}, d.name), h('div', {}, 'Region'), h('div', {}, d.location), h('div', {}, 'Pricing tier'), h('div', {}, d.sku),
      h('div', {}, 'Public network access'), h('div', {}, d.publicAccess ? 'Enabled' : 'Disabled'),
      h('div', {}, 'Private endpoints'), h('div', {}, d.endpoints.map((p) => `${p.name} (${nameOf(p.vnetId)}/${nameOf(p.subnetId)}${p.dns ? ', ' + ZONE : ''})`).join('; ') || 'none')),
    h('div', { class: 'toolbar' }, h('button', { onclick: () => go('networking') }, 'Previous'),
      h('button', { class: 'primary', id: 'create', onclick: async (ev) => {
        ev.target.disabled = true; out.replaceChildren(h('div', { class: 'info' }, 'Deployment is in progress…'));
        try {
          if (!d.name) throw new Error('The key vault name is required.');
          const vaultId = `${subPath()}/resourceGroups/${d.rg}/providers/Microsoft.KeyVault/vaults/${d.name}`;
          await ensureProvider('Microsoft.KeyVault');
          const avail = await arm('POST', `${subPath()}/providers/Microsoft.KeyVault/checkNameAvailability`, API.kv, { name: d.name, type: 'Microsoft.KeyVault/vaults' });
          if (avail && avail.nameAvailable === false) { const e = new Error(avail.message); e.code = avail.reason; throw e; }
          const steps = [{ path: withVer(vaultId, API.kv), createOnly: true, body: { location: d.location, properties: {
            tenantId: S.tenant, sku: { family: 'A', name: d.sku }, accessPolicies: [], enableRbacAuthorization: true,
            publicNetworkAccess: d.publicAccess ? 'Enabled' : 'Disabled' } } }];
          for (const pe of d.endpoints) steps.push(...await endpointSteps(pe, vaultId));
          await deploy(steps);
          draft.vault = null;
          out.replaceChildren(h('div', { class: 'ok' }, 'Your deployment is complete. '), h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'go-to-resource', onclick: () => { location.hash = `#/vault/${enc(vaultId)}`; } }, 'Go to resource')));
        } catch (e) { out.replaceChildren(deployError(e)); ev.target.disabled = false; }
      } }, 'Create')), out];
  };
  show(h('h1', {}, 'Create a key vault'), tabs, body);
  render();
}

async function ensureProvider(ns) {
  const p = await arm('GET', `${subPath()}/providers/${ns}`, API.res);
  if (p.registrationState !== 'Registered') await arm('POST', `${subPath()}/providers/${ns}/register`, API.res);
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

async function deploy(steps) { return api('POST', 'deploy', { steps }); }
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
    h('button', { onclick: () => { location.hash = `#/doctor?vault=${enc(v.name)}`; } }, 'Diagnose'));
  const header = [h('h1', {}, v.name), h('div', { class: 'subtitle' }, 'Key vault'), nav];
  if (section !== 'networking') {
    const p = v.properties;
    return show(...header, h('div', { class: 'kv', id: 'vault-essentials' },
      h('div', {}, 'Resource group'), h('div', {}, rgOf(v.id)), h('div', {}, 'Location'), h('div', {}, v.location),
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
  const act = (verb) => async () => {
    const names = selected();
    out.replaceChildren();
    if (!names.length) return out.append(errorBox('Select a connection first.'));
    const modal = $('#modal');
    const desc = h('textarea', { id: 'pec-description', rows: 3 });
    const close = () => { modal.hidden = true; modal.replaceChildren(); };
    const title = { approve: 'Approve connection', reject: 'Reject connection', remove: 'Remove connection' }[verb];
    modal.replaceChildren(h('div', { class: 'blade', id: 'pec-dialog' }, h('h1', {}, title),
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
      } }, 'Yes'), h('button', { onclick: close }, 'No'))));
    modal.hidden = false;
  };
  return h('div', {},
    h('div', { class: 'toolbar' },
      h('button', { id: 'pec-create', onclick: () => { location.hash = `#/endpoints/create?vault=${enc(v.id)}`; } }, '+ Create'),
      h('button', { id: 'pec-approve', onclick: act('approve') }, 'Approve'),
      h('button', { id: 'pec-reject', onclick: act('reject') }, 'Reject'),
      h('button', { id: 'pec-remove', onclick: act('remove') }, 'Remove'),
      h('button', { id: 'pec-refresh', onclick: () => route() }, 'Refresh')),
    out,
    h('table', { id: 'connections' }, h('thead', {}, h('tr', {}, ['', 'Connection name', 'Connection state', 'Provisioning state', 'Private endpoint', 'Description'].map((t) => h('th', {}, t)))),
      h('tbody', {}, conns.length ? conns.map((c) => {
        const p = c.properties; const n = nameOf(c.id); const st = p.privateLinkServiceConnectionState;
        return h('tr', { 'data-connection': n, 'data-endpoint': nameOf(p.privateEndpoint.id) },
          h('td', {}, h('input', { type: 'checkbox', class: 'pec', value: n, 'aria-label': n })), h('td', {}, n), h('td', { class: 'status' }, stateSpan(st.status)),
          h('td', { class: 'provisioning' }, p.provisioningState), h('td', {}, link(`#/endpoint/${enc(p.privateEndpoint.id)}`, nameOf(p.privateEndpoint.id))), h('td', { class: 'description' }, st.description || ''));
      }) : h('tr', {}, h('td', { colspan: 6 }, 'No private endpoint connections.')))));
}

// ---- private endpoints
async function endpointsList() {
  const [eps, vaults] = await Promise.all([loaders.endpoints(), loaders.vaults()]);
  show(h('h1', {}, 'Private endpoints'),
    h('div', { class: 'toolbar' }, h('button', { id: 'create-endpoint', onclick: () => { location.hash = '#/endpoints/create'; } }, '+ Create')),
    h('table', { id: 'endpoints' }, h('thead', {}, h('tr', {}, ['Name', 'Resource group', 'Location', 'Subnet', 'Private link resource', 'Connection state'].map((t) => h('th', {}, t)))),
      h('tbody', {}, eps.map((e) => { const c = peConnection(e); return h('tr', { 'data-endpoint': e.name },
        h('td', {}, link(`#/endpoint/${enc(e.id)}`, e.name)), h('td', {}, rgOf(e.id)), h('td', {}, e.location), h('td', {}, subnetLabel(e.properties.subnet.id)),
        h('td', {}, c ? vaultLink(c.properties.privateLinkServiceId, vaults) : ''), h('td', {}, c ? stateSpan(c.properties.privateLinkServiceConnectionState.status) : '')); }))));
}
const peConnection = (e) => (e.properties.privateLinkServiceConnections || []).concat(e.properties.manualPrivateLinkServiceConnections || [])[0];
const subnetLabel = (id) => { const p = id.split('/'); return `${p[8]}/${p[10]}`; };
const vaultLink = (id, vaults) => (vaults.some((v) => v.id.toLowerCase() === id.toLowerCase()) ? link(`#/vault/${enc(id)}`, nameOf(id)) : nameOf(id));

async function createEndpoint(vaultId) {
  const [groups, locations, vnets, vaults] = await Promise.all([loaders.groups(), loaders.locations(), loaders.vnets(), loaders.vaults()]);
  const d = { rg: groups[0] && groups[0].name, name: '', nicName: '', nicEdited: false, location: locations[0] && locations[0].name, method: 'directory',
    resourceType: 'Microsoft.KeyVault/vaults', vaultId: vaultId || (vaults[0] && vaults[0].id) || '', resourceId: vaultId || '', requestMessage: '', vnetId: '', subnetId: '', dns: true, zoneRg: '', tags: [] };
  const tabDefs = [['basics', 'Basics'], ['resource', 'Resource'], ['vnet', 'Virtual Network'], ['dns', 'DNS'], ['tags', 'Tags'], ['review', 'Review + create']];
  let tab = 'basics';
  const tabs = h('div', { class: 'tabs' }); const body = h('div');
  const go = (t) => { tab = t; render(); };
  const nav = (prev, next) => h('div', { class: 'toolbar' }, prev ? h('button', { id: 'previous', onclick: () => go(prev) }, 'Previous') : null,
    next ? h('button', { class: 'primary', id: 'next', onclick: () => go(next) }, next === 'review' ? 'Next : Review + create' : 'Next') : null);
  const render = () => {
    tabs.replaceChildren(...tabDefs.map(([k, t]) => h('button', { class: k === tab ? 'active' : '', id: 'tab-' + k, onclick: () => go(k) }, t)));
    body.replaceChildren(...pages[tab]());
  };
  // As the portal does: only the virtual networks in the endpoint's region; the first by default.
  const pickNetwork = () => {
    const inRegion = vnets.filter((v) => v.location === d.location);
    if (!inRegion.some((v) => v.id === d.vnetId)) d.vnetId = inRegion[0] ? inRegion[0].id : '';
    const v = inRegion.find((x) => x.id === d.vnetId);
    const subnets = (v && v.properties.subnets) || [];
    if (!subnets.some((s) => s.id === d.subnetId)) d.subnetId = subnets[0] ? subnets[0].id : '';
    return { inRegion, subnets };
  };
  const pages = {
    basics: () => {
      const nic = h('input', { type: 'text', id: 'pe-nic', value: d.nicName, oninput: (e) => { d.nicName = e.target.value; d.nicEdited = true; } });
      return [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Project details'), field('Subscription', select('pe-sub', [S.sub])),
        field('Resource group', select('pe-rg', groups.map((g) => g.name), d.rg, (e) => { d.rg = e.target.value; })),
        h('div', { class: 'section' }, 'Instance details'),
        field('Name', h('input', { type: 'text', id: 'pe-name', value: d.name, oninput: (e) => { d.name = e.target.value.trim(); if (!d.nicEdited) { d.nicName = d.name ? d.name + '-nic' : ''; nic.value = d.nicName; } } })),
        field('Network Interface Name', nic),
        field('Region', select('pe-region', locations.map((l) => l.name), d.location, (e) => { d.location = e.target.value; d.vnetId = ''; d.subnetId = ''; }))),
      nav(null, 'resource')];
    },
    resource: () => {
      const radio = (val, text) => h('label', { class: 'toggle' }, h('input', { type: 'radio', name: 'method', id: 'method-' + val, value: val, checked: d.method === val, onchange: () => { d.method = val; render(); } }), text);
      const rows = [h('div', { class: 'section' }, 'Connection method'), h('label', {}, 'Connection method'), h('div', {}, radio('directory', 'Connect to an Azure resource in my directory.'), h('br'), radio('resourceid', 'Connect to an Azure resource by resource ID or alias.'))];
      if (d.method === 'directory') {
        const sub = h('select', { id: 'pe-subresource' }, h('option', { value: 'vault' }, 'vault'));
        rows.push(field('Subscription', select('pe-resource-sub', [S.sub])),
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
      field('Private DNS zone resource group', select('pe-zone-rg', groups.map((g) => g.name), d.zoneRg || d.rg, (e) => { d.zoneRg = e.target.value; })),
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
        h('div', {}, 'Name'), h('div', {}, d.name), h('div', {}, 'Resource group'), h('div', {}, d.rg), h('div', {}, 'Region'), h('div', {}, d.location),
        h('div', {}, 'Network interface name'), h('div', {}, d.nicName), h('div', {}, 'Connection method'), h('div', {}, d.method === 'directory' ? 'Automatic (resource in my directory)' : 'Manual (request approval)'),
        h('div', {}, 'Resource'), h('div', {}, target), h('div', {}, 'Target sub-resource'), h('div', {}, 'vault'),
        h('div', {}, 'Subnet'), h('div', {}, d.subnetId), h('div', {}, 'Private DNS zone'), h('div', {}, d.dns ? ZONE : 'No integration'),
        h('div', {}, 'Tags'), h('div', {}, d.tags.filter((t) => t.name).map((t) => `${t.name}: ${t.value}`).join(', ') || 'none')),
      h('div', { class: 'toolbar' }, h('button', { id: 'previous', onclick: () => go('tags') }, 'Previous'), h('button', { class: 'primary', id: 'create', onclick: async (ev) => {
        ev.target.disabled = true; out.replaceChildren(h('div', { class: 'info' }, 'Deployment is in progress…'));
        try {
          if (!d.name) throw new Error('The private endpoint name is required (Basics).');
          if (!target) throw new Error('Select the resource to connect to (Resource).');
          if (!d.subnetId) throw new Error(`Select a virtual network and subnet in ${d.location} (Virtual Network).`);
          const tags = Object.fromEntries(d.tags.filter((t) => t.name).map((t) => [t.name, t.value]));
          const pe = { rg: d.rg, location: d.location, name: d.name, nicName: d.nicName, vnetId: d.vnetId, subnetId: d.subnetId, dns: d.dns, zoneRg: d.zoneRg || d.rg, manual: d.method !== 'directory', requestMessage: d.requestMessage, tags };
          await deploy(await endpointSteps(pe, target));
          const peId = `${subPath()}/resourceGroups/${d.rg}/providers/Microsoft.Network/privateEndpoints/${d.name}`;
          out.replaceChildren(h('div', { class: 'ok' }, 'Your deployment is complete.'), h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'go-to-resource', onclick: () => { location.hash = `#/endpoint/${enc(peId)}`; } }, 'Go to resource')));
        } catch (e) { out.replaceChildren(deployError(e)); ev.target.disabled = false; }
      } }, 'Create')), out];
    },
  };
  show(h('h1', {}, 'Create a private endpoint'), tabs, body);
  render();
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
  const dnsRows = groups.flatMap((g) => g.properties.privateDnsZoneConfigs.flatMap((z) => (z.properties.recordSets || []).map((r) =>
    h('tr', {}, h('td', {}, r.fqdn), h('td', {}, (r.ipAddresses || []).join(', ')), h('td', {}, link(`#/zone/${enc(z.properties.privateDnsZoneId)}`, nameOf(z.properties.privateDnsZoneId)))))));
  show(h('h1', {}, e.name), h('div', { class: 'subtitle' }, 'Private endpoint'),
    h('div', { class: 'kv', id: 'endpoint-essentials' },
      h('div', {}, 'Resource group'), h('div', {}, rgOf(e.id)), h('div', {}, 'Location'), h('div', {}, e.location),
      h('div', {}, 'Virtual network/subnet'), h('div', {}, subnetLabel(e.properties.subnet.id)), h('div', {}, 'Virtual network'), h('div', {}, vnetId),
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
    h('div', { class: 'toolbar' }, h('button', { id: 'delete-endpoint', onclick: async () => {
      if (!window.confirm(`Delete private endpoint ${e.name}?`)) return;
      try { await arm('DELETE', id, API.net); location.hash = '#/endpoints'; } catch (err) { out.replaceChildren(errorBox(err)); }
    } }, 'Delete')), out);
}

async function nicPage(id) {
  const n = await arm('GET', id, API.net);
  const ipc = n.properties.ipConfigurations[0].properties;
  show(h('h1', {}, n.name), h('div', { class: 'subtitle' }, 'Network interface'),
    h('div', { class: 'kv', id: 'nic-essentials' },
      h('div', {}, 'Resource group'), h('div', {}, rgOf(n.id)), h('div', {}, 'Location'), h('div', {}, n.location),
      h('div', {}, 'Private IP address'), h('div', { id: 'nic-ip' }, ipc.privateIPAddress),
      h('div', {}, 'Virtual network/subnet'), h('div', {}, subnetLabel(ipc.subnet.id)),
      h('div', {}, 'Private endpoint'), h('div', {}, n.properties.privateEndpoint ? link(`#/endpoint/${enc(n.properties.privateEndpoint.id)}`, nameOf(n.properties.privateEndpoint.id)) : 'none'),
      h('div', {}, 'FQDNs'), h('div', {}, ipc.privateLinkConnectionProperties ? ipc.privateLinkConnectionProperties.fqdns.join(', ') : '')));
}

// ---- private DNS zones
async function zonesList() {
  const zones = await loaders.zones();
  show(h('h1', {}, 'Private DNS zones'),
    h('table', { id: 'zones' }, h('thead', {}, h('tr', {}, ['Name', 'Resource group', 'Record sets', 'Virtual network links'].map((t) => h('th', {}, t)))),
      h('tbody', {}, zones.map((z) => h('tr', { 'data-zone': z.name }, h('td', {}, link(`#/zone/${enc(z.id)}`, z.name)), h('td', {}, rgOf(z.id)),
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
    return show(h('h1', {}, z.name), h('div', { class: 'subtitle' }, `Private DNS zone · ${rgOf(id)}`), tabs,
      h('table', { id: 'records' }, h('thead', {}, h('tr', {}, ['Name', 'Type', 'TTL', 'Value', 'Auto registered'].map((t) => h('th', {}, t)))),
        h('tbody', {}, records.map((r) => h('tr', { 'data-record': r.name }, h('td', {}, r.name), h('td', {}, r.type.split('/').pop()), h('td', {}, String(r.properties.ttl)), h('td', {}, value(r)), h('td', {}, r.properties.isAutoRegistered ? 'True' : 'False'))))),
      h('h2', {}, '+ Record set (A)'), h('div', { class: 'form' }, field('Name', rname), field('IP address', rip), field('TTL (seconds)', rttl)),
      h('div', { class: 'toolbar' }, h('button', { id: 'add-record', onclick: async () => {
        try { await arm('PUT', `${id}/A/${rname.value.trim()}`, API.dns, { properties: { ttl: Number(rttl.value), aRecords: [{ ipv4Address: rip.value.trim() }] } }); await route(); } catch (e) { out.replaceChildren(errorBox(e)); }
      } }, 'OK')), out);
  }
  const lname = h('input', { type: 'text', id: 'link-name' });
  const lvnet = select('link-vnet', vnets.map((v) => [v.id, `${v.name} (${rgOf(v.id)})`]));
  const reg = h('input', { type: 'checkbox', id: 'link-registration' });
  show(h('h1', {}, z.name), h('div', { class: 'subtitle' }, `Private DNS zone · ${rgOf(id)}`), tabs,
    h('table', { id: 'links' }, h('thead', {}, h('tr', {}, ['Link name', 'Virtual network', 'Auto-registration', 'Link status'].map((t) => h('th', {}, t)))),
      h('tbody', {}, links.length ? links.map((l) => h('tr', { 'data-link': l.name }, h('td', {}, l.name), h('td', {}, nameOf(l.properties.virtualNetwork.id)), h('td', {}, l.properties.registrationEnabled ? 'Enabled' : 'Disabled'), h('td', {}, l.properties.virtualNetworkLinkState)))
        : h('tr', {}, h('td', { colspan: 4 }, 'No virtual network links: queries from virtual networks do not see this zone.')))),
    h('h2', {}, '+ Add a virtual network link'), h('div', { class: 'form' }, field('Link name', lname), field('Virtual network', lvnet), field('Enable auto registration', reg)),
    h('div', { class: 'toolbar' }, h('button', { id: 'add-link', onclick: async () => {
      try { await arm('PUT', `${id}/virtualNetworkLinks/${lname.value.trim()}`, API.dns, { location: 'global', properties: { virtualNetwork: { id: lvnet.value }, registrationEnabled: reg.checked } }); await route(); } catch (e) { out.replaceChildren(errorBox(e)); }
    } }, 'OK')), out);
}

async function vnetsList() {
  const vnets = await loaders.vnets();
  show(h('h1', {}, 'Virtual networks'),
    h('table', { id: 'vnets' }, h('thead', {}, h('tr', {}, ['Name', 'Resource group', 'Location', 'Address space', 'Subnets'].map((t) => h('th', {}, t)))),
      h('tbody', {}, vnets.map((v) => h('tr', {}, h('td', {}, v.name), h('td', {}, rgOf(v.id)), h('td', {}, v.location), h('td', {}, v.properties.addressSpace.addressPrefixes.join(', ')),
        h('td', {}, v.properties.subnets.map((s) => `${s.name} (${s.properties.addressPrefix})`).join(', ')))))));
}

// ---- topology: an SVG drawn from the state ARM returns
const COLORS = { Approved: '#107c10', Pending: '#c19c00', Rejected: '#a4262c', Disconnected: '#8a8886', link: '#0f6cbd' };
async function topology() {
  const [vnets, nics, eps, vaults, zones] = await Promise.all([loaders.vnets(), loaders.nics(), loaders.endpoints(), loaders.vaults(), loaders.zones()]);
  const zoneData = await Promise.all(zones.map(async (z) => ({ z, links: await loaders.links(z.id), records: await loaders.records(z.id) })));
  const NS = 'http://www.w3.org/2000/svg';
  const s = (tag, attrs, ...kids) => { const el = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v); for (const c of kids) el.append(c instanceof Node ? c : document.createTextNode(String(c))); return el; };
  const boxes = []; const edges = []; const anchors = {};
  const LH = 18; const lower = (x) => x.toLowerCase();
  const clip = (t, n) => (t.length > n ? t.slice(0, n - 1) + '…' : t);
  // Column 2: virtual networks with their subnets and the NICs in them.
  let y = 20; const X2 = 360; const W2 = 420;
  for (const v of vnets) {
    const top = y; const lines = [];
    y += 26;
    for (const sn of v.properties.subnets) {
      lines.push({ y, text: `subnet ${sn.name} · ${sn.properties.addressPrefix}`, color: '#605e5c' }); y += LH;
      for (const n of nics.filter((n) => lower(n.properties.ipConfigurations[0].properties.subnet.id) === lower(sn.id))) {
        const ip = n.properties.ipConfigurations[0].properties.privateIPAddress;
        const pe = n.properties.privateEndpoint && eps.find((e) => lower(e.id) === lower(n.properties.privateEndpoint.id));
        if (pe) {
          lines.push({ y, text: clip(`◆ endpoint ${pe.name} · ${ip}`, 56), color: '#201f1e', bold: true });
          anchors['pe:' + lower(pe.id)] = { x: X2 + W2, y: y };
          y += LH - 4;
          lines.push({ y, text: clip(`   NIC ${n.name}`, 60), color: '#8a8886' });
        } else {
          lines.push({ y, text: clip(`● client NIC ${n.name} · ${ip}`, 56), color: '#201f1e' });
        }
        y += LH;
      }
    }
    y += 8;
    anchors['vnet:' + lower(v.id)] = { x: X2, y: top + 14 };
    boxes.push(s('rect', { x: X2, y: top, width: W2, height: y - top, rx: 6, fill: '#f3f9fd', stroke: '#0f6cbd' }));
    boxes.push(s('text', { x: X2 + 8, y: top + 17, 'font-weight': 600, 'font-size': 13 }, clip(`VNet ${v.name} · ${v.location} · ${v.properties.addressSpace.addressPrefixes.join(', ')}`, 58)));
    for (const l of lines) boxes.push(s('text', { x: X2 + 14, y: l.y + 4, 'font-size': 12, fill: l.color, 'font-weight': l.bold ? 600 : 400 }, l.text));
    y += 16;
  }
  const h2 = y;
  // Column 3: vaults, their access setting, and one line per connection (where its edge ends).
  y = 20; const X3 = 880; const W3 = 300;
  for (const v of vaults) {
    const conns = v.properties.privateEndpointConnections;
    const height = 44 + conns.length * LH;
    boxes.push(s('rect', { x: X3, y, width: W3, height, rx: 6, fill: '#fff8f0', stroke: '#8a6d00' }));
    boxes.push(s('text', { x: X3 + 8, y: y + 17, 'font-weight': 600, 'font-size': 13 }, clip(`Key vault ${v.name}`, 40)));
    boxes.push(s('text', { x: X3 + 8, y: y + 34, 'font-size': 12, fill: '#605e5c' }, `${v.location} · public network access ${v.properties.publicNetworkAccess}`));
    conns.forEach((c, i) => {
      const st = c.properties.privateLinkServiceConnectionState.status;
      const cy = y + 44 + i * LH + 8;
      boxes.push(s('text', { x: X3 + 14, y: cy + 4, 'font-size': 12, fill: COLORS[st] || '#201f1e' }, clip(`${nameOf(c.properties.privateEndpoint.id)}: ${st}`, 40)));
      edges.push({ from: 'pe:' + lower(c.properties.privateEndpoint.id), toPt: { x: X3, y: cy }, state: st });
    });
    y += height + 16;
  }
  const h3 = y;
  // Column 1: private DNS zones with their A records; links go to the VNets.
  y = 20; const X1 = 10; const W1 = 300;
  for (const { z, links, records } of zoneData) {
    const top = y; y += 26;
    const texts = [];
    for (const r of records.filter((r) => r.type.endsWith('/A'))) { texts.push({ y, t: clip(`A ${r.name} → ${(r.properties.aRecords || []).map((a) => a.ipv4Address).join(', ')}`, 44) }); y += LH; }
    if (!texts.length) { texts.push({ y, t: '(no A records)' }); y += LH; }
    y += 8;
    boxes.push(s('rect', { x: X1, y: top, width: W1, height: y - top, rx: 6, fill: '#f5f0fa', stroke: '#5c2e91' }));
    boxes.push(s('text', { x: X1 + 8, y: top + 17, 'font-weight': 600, 'font-size': 13 }, clip(`Zone ${z.name}`, 42)));
    for (const t of texts) boxes.push(s('text', { x: X1 + 14, y: t.y + 4, 'font-size': 12 }, t.t));
    for (const l of links) edges.push({ fromPt: { x: X1 + W1, y: top + 14 }, to: 'vnet:' + lower(l.properties.virtualNetwork.id), state: 'link', label: `link ${l.name}${l.properties.registrationEnabled ? ' (auto-registration)' : ''}` });
    y += 16;
  }
  const height = Math.max(h2, h3, y, 120) + 40;
  const svg = s('svg', { xmlns: NS, id: 'topology-svg', width: 1200, height, viewBox: `0 0 1200 ${height}` });
  const edgeEls = [];
  for (const e of edges) {
    const a = e.fromPt || anchors[e.from]; const b = e.toPt || anchors[e.to];
    if (!a || !b) continue;
    const color = COLORS[e.state] || '#8a8886';
    const path = s('path', { d: `M ${a.x} ${a.y} C ${(a.x + b.x) / 2} ${a.y}, ${(a.x + b.x) / 2} ${b.y}, ${b.x} ${b.y}`, fill: 'none', stroke: color, 'stroke-width': 2.5, 'stroke-dasharray': e.state === 'link' ? '6 4' : e.state === 'Approved' ? '' : '3 3', class: 'edge edge-' + e.state },
      s('title', {}, e.label || `connection ${e.state}`));
    edgeEls.push(path);
  }
  svg.append(...boxes, ...edgeEls);
  const legend = h('div', { class: 'legend' }, Object.entries(COLORS).map(([k, c]) => { const sw = h('span', { class: 'swatch' }); sw.style.background = c; return h('span', {}, sw, k === 'link' ? 'zone ↔ VNet link' : `connection ${k}`); }));
  show(h('h1', {}, 'Topology'), h('div', { class: 'subtitle' }, 'Private DNS zones (left) are seen by the VNets they link to; endpoints (◆, in their subnets) reach vaults (right) only when their connection is Approved.'), legend, svg);
}

// ---- doctor
async function doctor(vaultName) {
  const [vaults, nics] = await Promise.all([loaders.vaults(), loaders.nics()]);
  const clients = nics.filter((n) => !n.properties.privateEndpoint);
  const vault = select('doctor-vault', vaults.map((v) => v.name), vaultName || (vaults[0] && vaults[0].name));
  const from = select('doctor-from', [['', 'The internet (this machine)']].concat(clients.map((n) => [n.id, `NIC ${n.name} (${subnetLabel(n.properties.ipConfigurations[0].properties.subnet.id)})`])));
  const other = h('input', { type: 'text', id: 'doctor-from-other', placeholder: 'or: an on-premises network name, or a public IP' });
  const principal = h('input', { type: 'text', id: 'doctor-principal', value: S.principal.appId });
  const out = h('div', { id: 'doctor-result' });
  show(h('h1', {}, 'Troubleshoot a vault connection'), h('div', { class: 'subtitle' }, "The troubleshooting guide's checks, run by vaultlink's doctor for one vault and one caller."),
    h('div', { class: 'form' }, field('Key vault', vault), field('Caller', from), field('Other caller', other), field('Principal (client id, optional)', principal)),
    h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'diagnose', onclick: async () => {
      out.replaceChildren(h('p', {}, 'Checking…'));
      const qs = new URLSearchParams({ vault: vault.value });
      const f = other.value.trim() || from.value; if (f) qs.set('from', f);
      if (principal.value.trim()) qs.set('principal', principal.value.trim());
      try {
        const r = await api('GET', 'arm/vaultlink/doctor?' + qs.toString());
        fill(out, h('div', { class: 'kv' },
          h('div', {}, 'Caller'), h('div', {}, r.caller), h('div', {}, 'DNS answer'), h('div', {}, h('pre', {}, r.dns.join('\n'))),
          h('div', {}, 'Address'), h('div', {}, r.address || '(none)'), h('div', {}, 'Path'), h('div', {}, r.path),
          h('div', {}, 'Reachable'), h('div', { id: 'doctor-reachable' }, r.reachable ? 'Yes' : 'No'), h('div', {}, 'Why'), h('div', {}, r.reason)),
        h('h2', {}, `Findings (${r.findings.length})`),
        r.findings.length ? r.findings.map((f) => h('div', { class: 'finding ' + f.severity, 'data-check': f.check }, h('strong', {}, `${f.severity}: ${f.problem}`),
          h('ul', {}, f.evidence.map((e) => h('li', {}, e))), f.fix ? h('div', {}, 'Fix: ', h('pre', { class: 'fix' }, f.fix)) : h('div', {}, 'Fix: a person must decide.')))
          : h('div', { class: 'ok' }, 'No problem found.'));
      } catch (e) { out.replaceChildren(errorBox(e)); }
    } }, 'Diagnose')), out);
}

// ---- start
window.addEventListener('hashchange', route);
document.addEventListener('DOMContentLoaded', async () => {
  $('#signout').addEventListener('click', async () => {
    try { await api('POST', 'signout'); } catch (_) { /* signed out either way */ }
    S.csrf = null; renderSignIn('Signed out.');
  });
  $('#global-search').addEventListener('keydown', async (ev) => {
    if (ev.key !== 'Enter' || !S.csrf) return;
    const t = ev.target.value.trim().toLowerCase();
    const pages = [[/key ?vault/, '#/vaults'], [/private ?endpoint/, '#/endpoints'], [/dns/, '#/zones'], [/virtual ?network|vnet/, '#/vnets'], [/topolog/, '#/topology'], [/doctor|troubleshoot/, '#/doctor']];
    const hit = pages.find(([re]) => re.test(t));
    if (hit) { location.hash = hit[1]; return; }
    const v = (await loaders.vaults()).find((x) => x.name.toLowerCase() === t);
    if (v) location.hash = `#/vault/${enc(v.id)}`;
  });
  try {
    const r = await fetch('/portal/api/session', { credentials: 'same-origin' });
    if (r.ok) return await startSession(await r.json());
  } catch (_) { /* fall through to sign-in */ }
  renderSignIn();
});
