// vaultlink portal: the top bar's search: suggestions as you type (services, and resources of every
// type by name, from ARM's generic resource list), "No results", the keyboard of a combobox
// (Down/Up, Enter, Escape); the box is cleared once a suggestion is opened.
'use strict';

// The services the search knows: label, the words that find it, the page.
const SERVICES = [
  ['Resource groups', /resource ?groups?/, '#/groups'], ['Key vaults', /key ?vaults?|vaults?/, '#/vaults'],
  ['Private endpoints', /private ?endpoints?|private ?link/, '#/endpoints'], ['Private DNS zones', /dns|zones?/, '#/zones'],
  ['Virtual networks', /virtual ?networks?|vnets?|subnets?/, '#/vnets'], ['Virtual machines', /virtual ?machines?|^vms?$/, '#/vms'],
  ['Topology', /topolog/, '#/topology'], ['Troubleshoot (doctor)', /doctor|troubleshoot|diagnos/, '#/doctor'],
];
// The portal's page of a resource, if it has one.
function pageOf(r) {
  const pages = { 'microsoft.keyvault/vaults': 'vault', 'microsoft.network/privateendpoints': 'endpoint', 'microsoft.network/virtualnetworks': 'vnet',
    'microsoft.network/privatednszones': 'zone', 'microsoft.network/networkinterfaces': 'nic', 'microsoft.compute/virtualmachines': 'vm',
    'microsoft.resources/resourcegroups': 'group' };
  const kind = pages[(r.type || '').toLowerCase()];
  return kind ? `#/${kind}/${enc(r.id)}` : null;
}
// A resource type as the Azure portal's search names it.
const typeLabel = (t) => ({ 'microsoft.keyvault/vaults': 'Key vault', 'microsoft.network/privateendpoints': 'Private endpoint', 'microsoft.network/virtualnetworks': 'Virtual network',
  'microsoft.network/privatednszones': 'Private DNS zone', 'microsoft.network/networkinterfaces': 'Network interface', 'microsoft.compute/virtualmachines': 'Virtual machine',
  'microsoft.network/publicipaddresses': 'Public IP address', 'microsoft.network/networksecuritygroups': 'Network security group', 'microsoft.resources/resourcegroups': 'Resource group',
  'microsoft.network/privatednszones/virtualnetworklinks': 'Virtual network link', 'microsoft.network/privateendpoints/privatednszonegroups': 'DNS zone group' }[t.toLowerCase()] || t);

// Every resource and group, read at most every 15 s while typing.
let searchCache = { at: 0, items: [] };
async function searchables() {
  if (Date.now() - searchCache.at < 15000) return searchCache.items;
  const [resources, groups] = await Promise.all([listOf(`${subPath()}/resources`, API.res), loaders.groups()]);
  searchCache = { at: Date.now(), items: resources.concat(groups.map((g) => ({ id: g.id, name: g.name, type: 'Microsoft.Resources/resourceGroups' }))) };
  return searchCache.items;
}
// The suggestions for `text`: matching services, then resources whose name holds it (an exact
// name first, then names that start with it), at most 10.
async function suggestions(text) {
  const t = text.trim().toLowerCase();
  if (!t) return [];
  const services = SERVICES.filter(([label, re]) => re.test(t) || label.toLowerCase().includes(t)).map(([label, , hash]) => ({ label, kind: 'Service', hash }));
  const rank = (n) => (n === t ? 0 : n.startsWith(t) ? 1 : 2);
  const resources = (await searchables()).filter((r) => r.name.toLowerCase().includes(t))
    .sort((a, b) => rank(a.name.toLowerCase()) - rank(b.name.toLowerCase()) || a.name.localeCompare(b.name))
    .map((r) => ({ label: r.name, kind: typeLabel(r.type), hash: pageOf(r) || `#/group/${enc(r.id.split('/').slice(0, 5).join('/'))}` }));
  // An exact resource name outranks a service whose words it merely contains.
  const exact = resources.filter((r) => r.label.toLowerCase() === t);
  return exact.concat(services, resources.filter((r) => !exact.includes(r))).slice(0, 10);
}

function setupSearch() {
  const input = $('#global-search');
  const list = $('#search-results');
  let items = []; let active = -1; let seq = 0;
  const close = () => { list.hidden = true; list.replaceChildren(); input.setAttribute('aria-expanded', 'false'); input.removeAttribute('aria-activedescendant'); active = -1; };
  const open = (hash) => { input.value = ''; close(); searchCache.at = 0; location.hash = hash; };
  const draw = () => {
    list.replaceChildren(...(items.length ? items.map((it, i) => h('li', { role: 'option', id: `search-option-${i}`, class: i === active ? 'active' : '', 'aria-selected': String(i === active),
      onmousedown: (ev) => { ev.preventDefault(); open(it.hash); } }, h('span', { class: 'search-name' }, it.label), h('span', { class: 'search-kind' }, it.kind)))
      : [h('li', { class: 'search-empty', id: 'search-none', role: 'option', 'aria-disabled': 'true' }, 'No results')]));
    list.hidden = false; input.setAttribute('aria-expanded', 'true');
    if (active >= 0) input.setAttribute('aria-activedescendant', `search-option-${active}`); else input.removeAttribute('aria-activedescendant');
  };
  const refresh = async () => {
    const mine = ++seq;
    if (!S.csrf || !input.value.trim()) return close();
    let found = [];
    try { found = await suggestions(input.value); } catch (_) { return; }
    if (mine !== seq) return; // a newer keystroke answered first
    items = found; active = -1; draw();
  };
  input.addEventListener('input', refresh);
  input.addEventListener('blur', () => setTimeout(close, 100));
  input.addEventListener('keydown', async (ev) => {
    if (!S.csrf) return;
    if (ev.key === 'Escape') { close(); return; }
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      if (list.hidden) await refresh();
      if (!items.length) return;
      active = (active + (ev.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length; draw();
      return;
    }
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    // Enter opens the chosen suggestion, else the first for what is typed now.
    const pick = active >= 0 ? items[active] : (await suggestions(input.value))[0];
    if (pick) open(pick.hash); else { items = []; draw(); }
  });
}
