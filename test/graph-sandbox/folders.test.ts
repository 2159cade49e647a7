import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphSandbox, startGraphSandbox } from '../../dev/graph-sandbox/index.js';
import { FOLDER, graph, token } from './helpers.js';

let sb: GraphSandbox;
let t: string;
beforeAll(async () => {
  sb = await startGraphSandbox({ seed: 31 });
  t = await token(sb);
});
afterAll(() => sb.stop());

const base = (user: string) => `/v1.0/users/${encodeURIComponent(user)}/mailFolders`;
const create = (user: string, parent: string, displayName: string) =>
  graph(sb, t, 'POST', `${base(user)}/${encodeURIComponent(parent)}/childFolders`, { displayName });

describe('well-known folders', () => {
  it('resolves inbox by name (any case) and by id, and 404s an unknown folder', async () => {
    const inbox = await graph(sb, t, 'GET', `${base('jane.doe@brand.example')}/inbox`);
    expect(inbox.status).toBe(200);
    expect(inbox.json()).toMatchObject({ displayName: 'Inbox', totalItemCount: 0 });
    const byId = await graph(
      sb,
      t,
      'GET',
      `${base('jane.doe@brand.example')}/${encodeURIComponent(inbox.json().id)}`,
    );
    expect(byId.json().id).toBe(inbox.json().id);
    expect((await graph(sb, t, 'GET', `${base('jane.doe@brand.example')}/InBox`)).status).toBe(200);
    const missing = await graph(sb, t, 'GET', `${base('jane.doe@brand.example')}/AQMkADnope=`);
    expect([missing.status, missing.json().error.code]).toEqual([404, 'ErrorItemNotFound']);
  });
});

describe('child folders', () => {
  it('creates one (201), refuses the same name in any case (409 ErrorFolderExists), and finds it by $filter', async () => {
    const user = 'omar.haddad@brand.example';
    const made = await create(user, 'inbox', FOLDER);
    expect(made.status).toBe(201);
    expect(made.json()).toMatchObject({ displayName: FOLDER, childFolderCount: 0, totalItemCount: 0 });
    const again = await create(user, 'inbox', FOLDER.toUpperCase());
    expect(again.status).toBe(409);
    expect(again.json().error.code).toBe('ErrorFolderExists');
    const q = new URLSearchParams({ $filter: `displayName eq '${FOLDER.toLowerCase()}'` });
    const found = await graph(sb, t, 'GET', `${base(user)}/inbox/childFolders?${q}`);
    expect(found.json().value.map((f: { id: string }) => f.id)).toEqual([made.json().id]);
    // The same name elsewhere (another parent) is a different folder.
    expect((await create(user, 'archive', FOLDER)).status).toBe(201);
    expect(
      sb
        .folders(user)
        .find((f) => f.displayName === 'Inbox')!
        .children.map((c) => c.displayName),
    ).toEqual([FOLDER]);
  });

  it('ends racing creates of one name (4: the concurrency limit) with exactly one folder: one 201, the rest 409', async () => {
    const user = 'carlos.garcia@brand.example';
    const answers = await Promise.all(Array.from({ length: 4 }, () => create(user, 'inbox', FOLDER)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(3);
    expect(sb.folders(user).find((f) => f.displayName === 'Inbox')!.children).toHaveLength(1);
  });

  it('lists without a filter in pages of $top with @odata.nextLink', async () => {
    const user = 'kim.minjun@brand.example';
    for (let i = 0; i < 5; i++) expect((await create(user, 'inbox', `Folder ${i}`)).status).toBe(201);
    const first = await graph(sb, t, 'GET', `${base(user)}/inbox/childFolders?$top=2`);
    expect(first.json().value).toHaveLength(2);
    const names = first.json().value.map((f: { displayName: string }) => f.displayName);
    let next = first.json()['@odata.nextLink'];
    while (next) {
      const page = await graph(sb, t, 'GET', next);
      names.push(...page.json().value.map((f: { displayName: string }) => f.displayName));
      next = page.json()['@odata.nextLink'];
    }
    expect(names).toEqual(['Folder 0', 'Folder 1', 'Folder 2', 'Folder 3', 'Folder 4']);
  });

  it('refuses a bad body, an empty name, an unsupported filter, and a wrong content type', async () => {
    const user = 'noa.levi@brand.example';
    const extra = await graph(sb, t, 'POST', `${base(user)}/inbox/childFolders`, {
      displayName: 'X',
      colour: 'red',
    });
    expect([extra.status, extra.json().error.code]).toEqual([400, 'RequestBodyRead']);
    expect((await create(user, 'inbox', '  ')).status).toBe(400);
    const q = new URLSearchParams({ $filter: "startswith(displayName,'Live')" });
    expect((await graph(sb, t, 'GET', `${base(user)}/inbox/childFolders?${q}`)).status).toBe(400);
    const text = await graph(sb, t, 'POST', `${base(user)}/inbox/childFolders`, 'displayName=X', {
      'content-type': 'text/plain',
    });
    expect(text.status).toBe(415);
  });
});
