import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run } from '../../dev/graph-sandbox/cli.js';
import { call } from './helpers.js';

describe('lp-archive graph-sandbox', () => {
  it('prints every client setting as KEY=VALUE, serves HTTPS trusted through the printed CA file, and cleans up', async () => {
    let out = '';
    let caFile = '';
    let status = 0;
    const code = await run(['--seed', '3', '--fault-rate', '0', '--latency', '0'], {
      out: (text) => {
        out += text;
      },
      err: () => {},
      until: async (sandbox) => {
        const env = Object.fromEntries(
          out
            .trim()
            .split('\n')
            .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
        );
        caFile = env.GRAPH_CA_CERT_FILE!;
        expect(readFileSync(caFile, 'utf8')).toBe(sandbox.caPem);
        const openid = await call(
          sandbox,
          'GET',
          `${env.GRAPH_AUTHORITY_HOST}/${env.GRAPH_TENANT_ID}/v2.0/.well-known/openid-configuration`,
        );
        status = openid.status;
        expect(openid.json().token_endpoint).toBe(
          `${env.GRAPH_BASE_URL}/${env.GRAPH_TENANT_ID}/oauth2/v2.0/token`,
        );
        expect(env.GRAPH_ALLOWED_HOSTS).toBe(new URL(env.GRAPH_BASE_URL!).host);
      },
    });
    expect(code).toBe(0);
    expect(status).toBe(200);
    const keys = out
      .trim()
      .split('\n')
      .map((l) => l.split('=')[0]);
    expect(keys).toEqual([
      'GRAPH_TENANT_ID',
      'GRAPH_CLIENT_ID',
      'GRAPH_CLIENT_SECRET',
      'GRAPH_AUTHORITY_HOST',
      'GRAPH_BASE_URL',
      'GRAPH_ALLOWED_HOSTS',
      'GRAPH_CA_CERT_FILE',
    ]);
    expect(
      out
        .trim()
        .split('\n')
        .every((l) => /^[A-Z_]+=\S+$/.test(l)),
    ).toBe(true);
    expect(existsSync(caFile)).toBe(false);
  });

  it('shows help, and refuses bad options with exit code 2', async () => {
    let out = '';
    let err = '';
    const io = {
      out: (t: string) => {
        out += t;
      },
      err: (t: string) => {
        err += t;
      },
      until: async () => {},
    };
    expect(await run(['--help'], io)).toBe(0);
    expect(out).toMatch(/--mirror DIR/);
    expect(await run(['--fault-rate', '2'], io)).toBe(2);
    expect(err).toMatch(/--fault-rate must be a number from 0 to 1/);
    expect(await run(['--bogus'], io)).toBe(2);
  });
});
