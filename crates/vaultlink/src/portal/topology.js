// vaultlink portal: the topology picture (an SVG drawn from the state ARM returns) and the doctor's findings.
'use strict';

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
    boxes.push(s('text', { x: X2 + 8, y: top + 17, 'font-weight': 600, 'font-size': 13 }, clip(`VNet ${v.name} · ${regionName(v.location)} · ${v.properties.addressSpace.addressPrefixes.join(', ')}`, 58)));
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
    boxes.push(s('text', { x: X3 + 8, y: y + 34, 'font-size': 12, fill: '#605e5c' }, clip(`${regionName(v.location)} · public network access ${v.properties.publicNetworkAccess}`, 44)));
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
  show(h('h1', {}, 'Topology'), h('div', { class: 'subtitle' }, 'Private DNS zones (left) are seen by the VNets they link to; endpoints (◆, in their subnets) reach vaults (right) only when their connection is Approved.'), legend, h('div', { id: 'topology-box', tabindex: 0, role: 'region', 'aria-label': 'Topology picture (scrolls sideways)' }, svg));
}

// ---- doctor
// The portal page that makes a finding's fix, beside its az line: [hash, what the page is].
function fixPage(f) {
  if (!f.resource) return null;
  const r = enc(f.resource);
  const pages = {
    'connection-not-approved': [`#/vault/${r}/networking/connections`, 'its private endpoint connections'],
    'connection-rejected': [`#/vault/${r}/networking/connections`, 'its private endpoint connections'],
    'firewall-denies': [`#/vault/${r}/networking`, 'its firewalls and virtual networks'],
    'connection-refused': [`#/vault/${r}/networking`, 'its firewalls and virtual networks'],
    'zone-not-linked': [`#/zone/${r}/links`, 'the zone\'s virtual network links'],
    'a-record-missing': [`#/zone/${r}`, 'the zone\'s record sets'],
    'a-record-wrong-address': [`#/zone/${r}`, 'the zone\'s record sets'],
  };
  return pages[f.check] || null;
}
function findingBox(f) {
  const page = fixPage(f);
  return h('div', { class: 'finding ' + f.severity, 'data-check': f.check }, h('strong', {}, `${f.severity}: ${f.problem}`),
    h('ul', {}, f.evidence.map((e) => h('li', {}, e))),
    page ? h('div', {}, 'Fix in the portal: ', h('a', { class: 'fix-page', href: page[0] }, `${nameOf(f.resource)}: ${page[1]}`)) : null,
    f.fix ? h('div', {}, page ? 'or with az: ' : 'Fix: ', h('pre', { class: 'fix' }, f.fix)) : h('div', {}, 'Fix: a person must decide.'));
}
// The doctor's form for the vault `vaultOf()` names (`vaultField`: its chooser, if any) and a
// caller, with the findings shown below it.
async function doctorForm(vaultOf, vaultField) {
  const nics = await loaders.nics();
  const clients = nics.filter((n) => !n.properties.privateEndpoint);
  const from = select('doctor-from', [['', 'The internet (this machine)']].concat(clients.map((n) => [n.id, `NIC ${n.name} (${subnetLabel(n.properties.ipConfigurations[0].properties.subnet.id)})`])));
  const other = h('input', { type: 'text', id: 'doctor-from-other', placeholder: 'or: an on-premises network name, or a public IP' });
  const principal = h('input', { type: 'text', id: 'doctor-principal', value: S.principal.appId });
  const out = h('div', { id: 'doctor-result' });
  return [h('div', { class: 'form' }, vaultField, field('Caller', from), field('Other caller', other), field('Principal (client id, optional)', principal)),
    h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'diagnose', onclick: async () => {
      out.replaceChildren(h('p', {}, 'Checking…'));
      const qs = new URLSearchParams({ vault: vaultOf() });
      const f = other.value.trim() || from.value; if (f) qs.set('from', f);
      if (principal.value.trim()) qs.set('principal', principal.value.trim());
      try {
        const r = await api('GET', 'arm/vaultlink/doctor?' + qs.toString());
        fill(out, h('div', { class: 'kv' },
          h('div', {}, 'Caller'), h('div', {}, r.caller), h('div', {}, 'DNS answer'), h('div', {}, h('pre', {}, r.dns.join('\n'))),
          h('div', {}, 'Address'), h('div', {}, r.address || '(none)'), h('div', {}, 'Path'), h('div', {}, r.path),
          h('div', {}, 'Reachable'), h('div', { id: 'doctor-reachable' }, r.reachable ? 'Yes' : 'No'), h('div', {}, 'Why'), h('div', {}, r.reason)),
        h('h2', {}, `Findings (${r.findings.length})`),
        r.findings.length ? r.findings.map(findingBox) : h('div', { class: 'ok' }, 'No problem found.'));
      } catch (e) { out.replaceChildren(errorBox(e)); }
    } }, 'Diagnose')), out];
}
async function doctor(vaultName) {
  const vaults = await loaders.vaults();
  const vault = select('doctor-vault', vaults.map((v) => v.name), vaultName || (vaults[0] && vaults[0].name));
  show(h('h1', {}, 'Troubleshoot a vault connection'), h('div', { class: 'subtitle' }, "The troubleshooting guide's checks, run by vaultlink's doctor for one vault and one caller."),
    ...(await doctorForm(() => vault.value, field('Key vault', vault))));
}
