// vaultlink portal: private DNS zones (record sets, virtual network links) and virtual networks.
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
    h('table', { id: 'vnets' }, h('thead', {}, h('tr', {}, ['Name', 'Resource group', 'Location', 'Address space', 'Subnets'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rowsOr(vnets, 5, (v) => h('tr', {}, h('td', {}, v.name), h('td', {}, rgOf(v.id)), h('td', {}, v.location), h('td', {}, v.properties.addressSpace.addressPrefixes.join(', ')),
        h('td', {}, v.properties.subnets.map((s) => `${s.name} (${s.properties.addressPrefix})`).join(', ')))))));
}

