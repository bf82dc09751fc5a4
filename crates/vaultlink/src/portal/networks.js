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
      h('tbody', {}, rowsOr(vnets, 5, (v) => h('tr', {}, h('td', {}, v.name), h('td', {}, rgOf(v.id)), h('td', {}, v.location), h('td', {}, v.properties.addressSpace.addressPrefixes.join(', ')),
        h('td', {}, v.properties.subnets.map((s) => `${s.name} (${s.properties.addressPrefix})`).join(', ')))))));
}

