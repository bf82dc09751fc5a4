// vaultlink portal: the seed's "Azure portal" tab as a page. Every read and change is an ARM
// request through /portal/api/arm (the same routes `az` uses) or /portal/api/deploy (several ARM
// PUTs, undone together on failure); no script here holds an Azure rule, only forms and pictures.
// This file: DOM helpers, the API client, sign-in, routing. The pages are in groups.js, vaults.js,
// endpoints.js, networks.js, vms.js and topology.js, the top bar's search in search.js (loaded
// after it, in that order).
'use strict';

const API = { kv: '2023-07-01', net: '2024-05-01', dns: '2024-06-01', res: '2022-09-01', compute: '2024-07-01' };
const ZONE = 'privatelink.vaultcore.azure.net';
const S = { csrf: null, principal: null, sub: null, subName: null, tenant: null, locations: [] };

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
// A create form's network: the region's VNets, and the chosen VNet and subnet (`d.vnetId`,
// `d.subnetId`) kept when still there, else the first ones.
function regionNetwork(vnets, d) {
  const inRegion = vnets.filter((v) => v.location === d.location);
  if (!inRegion.some((v) => v.id === d.vnetId)) d.vnetId = inRegion[0] ? inRegion[0].id : '';
  const v = inRegion.find((x) => x.id === d.vnetId);
  const subnets = (v && v.properties.subnets) || [];
  if (!subnets.some((s) => s.id === d.subnetId)) d.subnetId = subnets[0] ? subnets[0].id : '';
  return { inRegion, subnets };
}
// The type check-name knows a resource group's name rule by.
const RG_TYPE = 'Microsoft.Resources/resourceGroups';
// The Resource group field with the Azure portal's "Create new" under it: `d.rg` is the chosen
// group's name and `d.newRg` says it is still to be made (rgSteps, in the form's region).
// `rerender` redraws the form once a new name is taken.
function rgField(prefix, groups, d, rerender) {
  const names = groups.map((g) => g.name);
  const options = (d.newRg && d.rg ? [[d.rg, `(New) ${d.rg}`]] : []).concat(names);
  // As the Azure portal does, picking an existing group moves the form to the group's region.
  const sel = select(`${prefix}-rg`, options, d.rg, (e) => {
    d.rg = e.target.value; d.newRg = !names.includes(d.rg);
    const g = groups.find((x) => x.name === d.rg);
    if (g && g.location && g.location !== d.location) { d.location = g.location; d.vnetId = ''; d.subnetId = ''; rerender(); }
  });
  const box = h('div', { id: `${prefix}-rg-new` });
  const open = () => {
    const input = h('input', { type: 'text', id: `${prefix}-rg-new-name`, 'aria-label': 'Name of the new resource group', value: d.newRg ? d.rg : '' });
    const msg = h('div', { id: `${prefix}-rg-new-message`, role: 'status' });
    const ok = () => {
      const n = input.value.trim();
      const taken = names.some((x) => x.toLowerCase() === n.toLowerCase());
      if (!n || taken) {
        msg.replaceChildren(h('div', { class: 'error' }, n ? `A resource group named ${n} already exists in this subscription.` : 'The resource group name is required.'));
        return input.focus();
      }
      d.rg = n; d.newRg = true; rerender();
    };
    input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); ok(); } if (ev.key === 'Escape') box.replaceChildren(); });
    box.replaceChildren(h('div', { class: 'inline-create' }, h('p', {}, 'A resource group is a container that holds related resources for an Azure solution.'), input, msg,
      h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: `${prefix}-rg-new-ok`, onclick: ok }, 'OK'), h('button', { id: `${prefix}-rg-new-cancel`, onclick: () => box.replaceChildren() }, 'Cancel'))));
    input.focus();
  };
  // A new group's name is judged by ARM's rule beside the field once it is taken.
  const verdict = h('div', { id: `${prefix}-rg-message`, class: 'field-message', role: 'status' });
  if (d.newRg && d.rg) nameProblem(RG_TYPE, d.rg).then((why) => { if (why) verdict.replaceChildren(h('div', { class: 'error' }, why)); }, () => {});
  return [h('label', { for: sel.id }, 'Resource group'),
    h('div', {}, names.length || d.newRg ? sel : h('span', { class: 'hint' }, 'No resource group yet.'), ' ', h('button', { class: 'link', id: `${prefix}-rg-create-new`, onclick: open }, 'Create new'), box, verdict)];
}
// The groups a form may pick from: the subscription's, and the form's new one.
const groupsWith = (groups, d) => (d.newRg && d.rg ? [{ name: d.rg }].concat(groups) : groups);
// The path (with api-version) of the resource `name` of `type` would be in the form's group, when
// that group exists (for nameField's "already exists").
const pathInGroup = (d, type, ver) => (name) => (d.rg && !d.newRg ? withVer(`${subPath()}/resourceGroups/${d.rg}/providers/${type}/${name}`, ver) : null);
// A deployment's first step when its resource group is new: the group, in the resource's region.
const rgSteps = (d) => (d.newRg ? [{ path: withVer(`${subPath()}/resourcegroups/${d.rg}`, API.res), body: { location: d.location }, createOnly: true }] : []);
// A side panel (the Azure portal's blade) in #modal: it takes the focus, keeps Tab inside itself,
// closes on Escape or its close button and gives the focus back to where it was. Returns close().
function openBlade(id, title, ...content) {
  const modal = $('#modal');
  const back = document.activeElement;
  const close = () => { modal.hidden = true; modal.replaceChildren(); modal.onkeydown = null; if (back && back.isConnected) back.focus(); };
  const panel = h('div', { class: 'blade', id, role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': `${id}-title` },
    h('div', { class: 'blade-head' }, h('h1', { id: `${id}-title` }, title), h('button', { class: 'link close', id: `${id}-close`, 'aria-label': 'Close', onclick: close }, '✕')), content);
  modal.replaceChildren(panel);
  modal.hidden = false;
  modal.onkeydown = (ev) => {
    if (ev.key === 'Escape') { ev.preventDefault(); close(); return; }
    if (ev.key !== 'Tab') return;
    const f = [...panel.querySelectorAll('button, input, select, textarea, a[href]')].filter((x) => !x.disabled);
    if (!f.length) return;
    const [first, last] = [f[0], f[f.length - 1]];
    if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); } else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
  };
  (panel.querySelector('input, select, textarea') || panel.querySelector('button')).focus();
  return close;
}
// A create form's tabs (Basics … Review + create): `go(tab)` switches, `render()` redraws the
// current one, `nav(prev, next)` draws Previous / Next (`reviewLabel` on the step to Review),
// `current()` names the tab. `start(title, pages)` shows the form; `pages[tab]()` draws a tab.
function wizard(tabDefs, reviewLabel = 'Next : Review + create') {
  let tab = tabDefs[0][0];
  let pages = {};
  const tabs = h('div', { class: 'tabs' }); const body = h('div');
  const w = {
    current: () => tab,
    go: (t) => { tab = t; w.render(); },
    render: () => {
      tabs.replaceChildren(...tabDefs.map(([k, t]) => h('button', { class: k === tab ? 'active' : '', id: 'tab-' + k, onclick: () => w.go(k) }, t)));
      body.replaceChildren(...pages[tab]().filter(Boolean));
    },
    nav: (prev, next) => h('div', { class: 'toolbar' }, prev ? h('button', { id: 'previous', onclick: () => w.go(prev) }, 'Previous') : null,
      next ? h('button', { class: 'primary', id: 'next', onclick: () => w.go(next) }, next === 'review' ? reviewLabel : 'Next') : null),
    start: (title, drawers) => { pages = drawers; show(h('h1', {}, title), tabs, body); w.render(); },
  };
  return w;
}
// A list's rows, or the one row the Azure portal shows when there is nothing to list.
function rowsOr(items, columns, row) {
  return items.length ? items.map(row) : [h('tr', { class: 'empty' }, h('td', { colspan: columns }, 'No resources to display'))];
}
// A deletion asked in the page (never the browser's confirm()): `#delete-confirm` holds the
// question with Delete and Cancel; Delete runs `action`, whose failure goes to `out`.
function deleteConfirm(question, action, out) {
  const box = h('div', { id: 'delete-confirm' });
  const ask = () => box.replaceChildren(h('div', { class: 'finding warning', role: 'alertdialog' }, h('p', {}, question),
    h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'confirm-delete', onclick: async (ev) => {
      ev.target.disabled = true;
      try { await action(); } catch (e) { out.replaceChildren(errorBox(e)); ev.target.disabled = false; }
    } }, 'Delete'), h('button', { id: 'cancel-delete', onclick: () => box.replaceChildren() }, 'Cancel'))));
  return { box, ask };
}
// A region as the Azure portal shows it ("West Europe"), from the locations read at sign-in.
const regionName = (name) => (S.locations.find((l) => l.name === name) || { displayName: name }).displayName;
// A region picker: ARM's names as values, shown as the Azure portal shows them ("West Europe").
const regionSelect = (id, locations, value, onchange) => select(id, locations.map((l) => [l.name, l.displayName || l.name]), value, onchange);
// A create form's first region: its resource group's, else the first offered.
const defaultRegion = (groups, locations) => (groups[0] && groups[0].location) || (locations[0] && locations[0].name);
function field(label, input) { return [h('label', { for: input.id }, label), input]; }
// Why `name` cannot be given to a resource of `type` by ARM's own rules (portal.rs check-name), or ''.
async function nameProblem(type, name) {
  if (!name) return '';
  const r = await api('POST', 'check-name', { type, name });
  return r.valid ? '' : r.message;
}
// A judge for nameField: ARM's rules for `type`, then, when `existing(name)` gives the resource's
// path (with its api-version), whether that is taken.
const judgeName = (type, existing) => async (name) => {
  const why = await nameProblem(type, name);
  const path = !why && existing && existing(name);
  if (!path) return why;
  try { await api('GET', 'arm' + path); } catch (e) { if (e.status === 404) return ''; throw e; }
  return `A resource named ${name} already exists in resource group ${rgOf(path)}.`;
};
// A name field checked as it is typed (300 ms after the last key), its verdict beside it: `judge`
// resolves to why the name cannot be used, or '' (then `okText(name)` is shown).
function nameField(label, id, judge, value, oninput, okText = () => '✓') {
  const msg = h('div', { id: `${id}-message`, class: 'field-message', role: 'status' });
  let pending = 0;
  const check = async (name) => {
    const mine = ++pending;
    await sleep(300);
    if (mine !== pending) return;
    if (!name) return msg.replaceChildren();
    try {
      const why = await judge(name);
      if (mine === pending) msg.replaceChildren(why ? h('div', { class: 'error' }, why) : h('span', { class: 'field-ok' }, okText(name)));
    } catch (_) { msg.replaceChildren(); }
  };
  const input = h('input', { type: 'text', id, value, 'aria-describedby': msg.id, oninput: (e) => { oninput(e); check(e.target.value.trim()); } });
  if (value) check(value);
  return [field(label, input), h('span'), msg];
}
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
// One request; its parsed body and headers (a long-running operation's 202 names its poll URL in
// `Azure-AsyncOperation`). A failure throws ARM's error (code, message) with the status.
async function request(method, path, body) {
  let r;
  try {
    r = await fetch('/portal/api/' + path, {
      method,
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': S.csrf || '' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (_) {
    // No answer at all (vaultlink stopped, the network gone): said in the banner, the page kept.
    unreachable();
    throw Object.assign(new Error(`vaultlink at ${location.host} did not answer.`), { code: 'ServerUnreachable', unreachable: true });
  }
  reachable();
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!r.ok) {
    const err = (data && data.error) || {};
    const e = new Error(err.message || `${r.status} ${r.statusText}`);
    e.code = err.code; e.status = r.status; e.data = data;
    if (r.status === 401 && err.code === 'NotSignedIn' && S.csrf) { S.csrf = null; renderSignIn(SESSION_ENDED); }
    throw e;
  }
  return { data, headers: r.headers, status: r.status };
}
async function api(method, path, body) { return (await request(method, path, body)).data; }
const withVer = (path, ver) => path + (path.includes('?') ? '&' : '?') + 'api-version=' + ver;
const arm = (method, path, ver, body) => api(method, 'arm' + withVer(path, ver), body);
const subPath = () => `/subscriptions/${S.sub}`;
const armPath = (url) => { const u = new URL(url, location.href); return 'arm' + u.pathname + u.search; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// An ARM long-running operation: the 202's `Azure-AsyncOperation` is polled (every `Retry-After`
// seconds) until its status is no longer InProgress; the operation's last status is returned.
// `alive()` false (the page was left) stops the polling.
async function armOperation(method, path, ver, body, alive) {
  const first = await request(method, 'arm' + withVer(path, ver), body);
  const poll = first.headers.get('Azure-AsyncOperation');
  if (first.status !== 202 || !poll) return first.data;
  const wait = 1000 * (Number(first.headers.get('Retry-After')) || 1);
  for (;;) {
    await sleep(wait);
    if (alive && !alive()) return null;
    const op = await api('GET', armPath(poll));
    if (op && op.status !== 'InProgress') return op;
  }
}
// Every page of an ARM list: ARM pages long lists, the next page at `nextLink`.
async function listOf(path, ver) {
  let page = await arm('GET', path, ver);
  let items = [];
  while (page) {
    items = items.concat(page.value || []);
    if (!page.nextLink) break;
    const next = new URL(page.nextLink);
    page = await api('GET', 'arm' + next.pathname + next.search);
  }
  return items;
}
const loaders = {
  vaults: () => listOf(`${subPath()}/providers/Microsoft.KeyVault/vaults`, API.kv),
  groups: () => listOf(`${subPath()}/resourcegroups`, API.res),
  // Physical regions only (a logical one, a geography such as 'unitedstates', holds no
  // resources), from the list read once at sign-in.
  locations: async () => S.locations.filter((l) => !l.metadata || l.metadata.regionType !== 'Logical'),
  vnets: () => listOf(`${subPath()}/providers/Microsoft.Network/virtualNetworks`, API.net),
  nics: () => listOf(`${subPath()}/providers/Microsoft.Network/networkInterfaces`, API.net),
  vms: () => listOf(`${subPath()}/providers/Microsoft.Compute/virtualMachines?$expand=instanceView`, API.compute),
  vmSizes: (loc) => arm('GET', `${subPath()}/providers/Microsoft.Compute/locations/${loc}/vmSizes`, API.compute).then((r) => r.value),
  endpoints: () => listOf(`${subPath()}/providers/Microsoft.Network/privateEndpoints`, API.net),
  zones: () => listOf(`${subPath()}/providers/Microsoft.Network/privateDnsZones`, API.dns),
  links: (zoneId) => listOf(`${zoneId}/virtualNetworkLinks`, API.dns),
  records: (zoneId) => listOf(`${zoneId}/ALL`, API.dns),
};

// ---- the connection banner: shown while vaultlink does not answer, with Retry
function unreachable() {
  const b = $('#banner');
  if (!b.hidden) return;
  b.replaceChildren(h('span', {}, `vaultlink at ${location.host} cannot be reached. What is on the page may be out of date, and nothing can be changed until it answers.`), ' ',
    h('button', { id: 'banner-retry', onclick: async () => { reachable(); if (S.csrf) await route(); else await resume(); } }, 'Retry'));
  b.hidden = false;
}
function reachable() { const b = $('#banner'); if (!b.hidden) { b.hidden = true; b.replaceChildren(); } }

// ---- sign-in
// What a page that was signed in says once its session is gone (vaultlink restarted, signed out
// elsewhere, or the 8 hours passed): sessions live in vaultlink's memory only.
const SESSION_ENDED = 'Your session ended (vaultlink was restarted, you signed out in another tab, or it expired). Sign in again.';
function renderSignIn(message) {
  $('#nav').hidden = true; $('#signout').hidden = true; $('#menu-toggle').hidden = true; $('#whoami').textContent = '';
  // A neutral example: the developer's own id here would make the field look filled.
  const id = h('input', { type: 'text', id: 'client-id', autocomplete: 'username', placeholder: '00000000-0000-0000-0000-000000000000 or user@contoso.com' });
  const secret = h('input', { type: 'password', id: 'client-secret', autocomplete: 'current-password' });
  const out = h('div', { id: 'signin-result' });
  if (message) out.append(h('div', { class: 'info' }, message));
  const form = h('form', { class: 'signin', id: 'signin-form', onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    // An empty field is said beside the form, not sent for Entra's raw AADSTS answer.
    const missing = [[id, 'Enter the client ID or user name.'], [secret, 'Enter the client secret or password.']].filter(([f]) => !f.value.trim());
    if (missing.length) {
      out.append(...missing.map(([f, m]) => h('div', { class: 'error', role: 'alert', id: `${f.id}-missing` }, m)));
      missing[0][0].focus();
      return;
    }
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
  h('p', { class: 'subtitle' }, 'As a service principal of the vaultlink tenant (the seeded developer principal, or one from `vaultlink principal add`) with its secret, or as a user (ann@vaultlink.onmicrosoft.com) with its password. The portal acts with its permissions.'),
  h('div', { class: 'form' }, field('Client ID or user name', id), field('Client secret or password', secret)),
  h('button', { class: 'primary', type: 'submit', id: 'signin' }, 'Sign in'), out);
  show(form);
}

async function startSession(data) {
  S.csrf = data.csrfToken; S.principal = data.principal;
  const subs = await listOf('/subscriptions', API.res);
  if (!subs.length) throw new Error('The principal sees no subscription.');
  S.sub = subs[0].subscriptionId; S.tenant = subs[0].tenantId; S.subName = subs[0].displayName;
  S.locations = await listOf(`${subPath()}/locations`, API.res);
  $('#whoami').textContent = `${S.principal.displayName} (${S.principal.appId}) · ${subs[0].displayName}`;
  $('#nav').hidden = false; $('#signout').hidden = false; $('#menu-toggle').hidden = false;
  sessionStorage.setItem('vaultlink-signed-in', '1');
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
  [/^#\/groups\/create$/, () => createGroup()],
  [/^#\/groups$/, () => groupsList()],
  [/^#\/group\/([^/]+)$/, (m) => groupPage(decodeURIComponent(m[1]))],
  [/^#\/vnets\/create$/, () => createVnet()],
  [/^#\/vnets$/, () => vnetsList()],
  [/^#\/vnet\/([^/]+)$/, (m) => vnetPage(decodeURIComponent(m[1]))],
  [/^#\/vms\/create$/, () => createVm()],
  [/^#\/vms$/, () => vmsList()],
  [/^#\/vm\/([^/]+)(?:\/(\w+))?$/, (m) => vmPage(decodeURIComponent(m[1]), m[2])],
  [/^#\/topology$/, () => topology()],
  [/^#\/doctor(?:\?vault=(.*))?$/, (m) => doctor(m[1] ? decodeURIComponent(m[1]) : '')],
];
// A create form with something typed in it is not left without asking (in the page; a reload or
// closing the tab gets the browser's own question): S.dirty is set by any input on a create page
// and cleared when its deployment completes or the user chooses to leave.
let shown = '';
const isCreatePage = (hash) => /\/create(\?|$)/.test(hash);
function askLeave(target) {
  const box = h('div', { id: 'leave-confirm', class: 'finding warning', role: 'alertdialog', 'aria-label': 'Leave this page?' },
    h('p', {}, 'Leave this page? What you entered in the form has not been created and is discarded.'),
    h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'leave-page', onclick: () => { S.dirty = false; location.hash = target; } }, 'Leave'),
      h('button', { id: 'stay-on-page', onclick: () => box.remove() }, 'Stay')));
  const old = $('#leave-confirm');
  if (old) old.remove();
  main().prepend(box);
  $('#stay-on-page').focus();
}
async function route() {
  if (!S.csrf) return;
  if (S.dirty && location.hash !== shown) {
    const target = location.hash;
    history.replaceState(null, '', shown || '#/vaults');
    return askLeave(target);
  }
  shown = location.hash;
  S.dirty = false;
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
      try { await fn(m); } catch (e) {
        if (e.unreachable) show(h('div', { class: 'info', id: 'page-unreachable' }, 'This page could not be loaded: vaultlink did not answer. Retry (above) once it is back.'));
        else if (S.csrf) show(errorBox(e));
      }
      return;
    }
  }
  show(h('p', {}, 'No such page.'));
}

// ---- start
window.addEventListener('hashchange', route);
document.addEventListener('input', (ev) => { if (S.csrf && isCreatePage(shown) && !ev.target.closest('#topbar')) S.dirty = true; });
window.addEventListener('beforeunload', (ev) => { if (S.dirty) { ev.preventDefault(); ev.returnValue = ''; } });
document.addEventListener('DOMContentLoaded', async () => {
  // The narrow screen's menu: the button opens it over the page; picking a page closes it.
  const menu = (open) => { $('#layout').classList.toggle('menu-open', open); $('#menu-toggle').setAttribute('aria-expanded', String(open)); };
  $('#menu-toggle').addEventListener('click', () => menu(!$('#layout').classList.contains('menu-open')));
  $('#nav').addEventListener('click', (ev) => { if (ev.target.closest('a')) menu(false); });
  $('#signout').addEventListener('click', async () => {
    try { await api('POST', 'signout'); } catch (_) { /* signed out either way */ }
    S.csrf = null; S.dirty = false; sessionStorage.removeItem('vaultlink-signed-in'); renderSignIn('Signed out.');
  });
  setupSearch();
  await resume();
});
// The page's start (and Retry while signed out): the session if the cookie still has one; else
// sign-in, saying the session ended when this tab had one.
async function resume() {
  let r;
  try { r = await fetch('/portal/api/session', { credentials: 'same-origin' }); } catch (_) { unreachable(); show(h('p', {}, 'Waiting for vaultlink…')); return; }
  reachable();
  if (r.ok) return startSession(await r.json());
  renderSignIn(sessionStorage.getItem('vaultlink-signed-in') ? SESSION_ENDED : undefined);
}
