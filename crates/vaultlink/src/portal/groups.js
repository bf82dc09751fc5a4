// vaultlink portal: resource groups: list, create (Basics, Review + create), and the group's page
// (its resources; deleting the group with everything in it).
'use strict';

async function groupsList() {
  const groups = await loaders.groups();
  show(h('h1', {}, 'Resource groups'),
    h('div', { class: 'toolbar' }, h('button', { id: 'create-group', onclick: () => { location.hash = '#/groups/create'; } }, '+ Create')),
    h('div', { class: 'table-box' }, h('table', { id: 'groups' }, h('thead', {}, h('tr', {}, ['Name', 'Subscription', 'Location'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rowsOr(groups, 3, (g) => h('tr', { 'data-group': g.name }, h('td', {}, link(`#/group/${enc(g.id)}`, g.name)), h('td', {}, S.subName), h('td', {}, regionName(g.location))))))));
}

async function createGroup() {
  const [groups, locations] = await Promise.all([loaders.groups(), loaders.locations()]);
  const d = { name: '', location: locations[0] && locations[0].name };
  const { go, start } = wizard([['basics', 'Basics'], ['review', 'Review + create']]);
  const basics = () => [h('div', { class: 'form' }, h('div', { class: 'section' }, 'Project details'), field('Subscription', select('group-sub', [[S.sub, S.subName]])),
    nameField('Resource group name', 'group-name', judgeName(RG_TYPE), d.name, (e) => { d.name = e.target.value.trim(); }),
    h('div', { class: 'section' }, 'Resource details'),
    field('Region', regionSelect('group-region', locations, d.location, (e) => { d.location = e.target.value; }))),
  h('div', { class: 'toolbar' }, h('button', { class: 'primary', id: 'next', onclick: () => go('review') }, 'Review + create'))];
  const review = () => {
    const out = h('div', { id: 'deploy-result' });
    return [h('div', { class: 'kv', id: 'review' }, [['Subscription', S.subName], ['Resource group', d.name], ['Region', regionName(d.location)]].map(([k, v]) => [h('div', {}, k), h('div', {}, v)])),
      reviewButtons(go, 'basics', out, {
        steps: async () => rgSteps({ newRg: true, rg: d.name, location: d.location }),
        done: async () => `#/group/${enc(`${subPath()}/resourceGroups/${d.name}`)}`,
        check: async () => [!d.name && 'Basics: the resource group name is required.', d.name && await nameProblem(RG_TYPE, d.name).then((p) => p && `Basics: ${p}`),
          groups.some((g) => g.name.toLowerCase() === d.name.toLowerCase()) && `Basics: a resource group named ${d.name} already exists in this subscription.`].filter(Boolean),
      }), out];
  };
  start('Create a resource group', { basics, review });
}

// A resource's name, linked to its page when the portal has one (pageOf, search.js).
const resourcePage = (r) => { const p = pageOf(r); return p ? link(p, r.name) : r.name; };

async function groupPage(id) {
  const [g, resources] = await Promise.all([arm('GET', id, API.res), listOf(`${id}/resources`, API.res)]);
  const out = h('div', { id: 'group-result' });
  const del = deleteConfirm(`Delete resource group ${g.name}? The ${resources.length} resource(s) in it are deleted with it.`, async () => {
    await arm('DELETE', id, API.res); location.hash = '#/groups';
  }, out);
  show(h('h1', {}, g.name), h('div', { class: 'subtitle' }, 'Resource group'),
    h('div', { class: 'toolbar' }, h('button', { id: 'group-delete', onclick: del.ask }, 'Delete resource group')), del.box, out,
    h('div', { class: 'kv', id: 'group-essentials' }, h('div', {}, 'Subscription'), h('div', {}, S.subName), h('div', {}, 'Location'), h('div', {}, regionName(g.location))),
    h('h2', {}, 'Resources'),
    h('div', { class: 'table-box' }, h('table', { id: 'group-resources' }, h('thead', {}, h('tr', {}, ['Name', 'Type', 'Location'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rowsOr(resources, 3, (r) => h('tr', { 'data-resource': r.name }, h('td', {}, resourcePage(r)), h('td', {}, r.type), h('td', {}, regionName(r.location))))))));
}
