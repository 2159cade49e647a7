import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../../dev/sandbox/cli.js';

describe('lp-archive sandbox', () => {
  it('prints every client setting as KEY=VALUE, serves on the printed CSDS URL, and stops when asked', async () => {
    let out = '';
    let csdsStatus = 0;
    const code = await run(['--conversations', '7', '--seed', '4'], {
      out: (t) => {
        out += t;
      },
      err: () => {},
      until: async (sandbox) => {
        const env = Object.fromEntries(
          out
            .trim()
            .split('\n')
            .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
        );
        const res = await fetch(
          `${env.LP_CSDS_URL}/api/account/${env.LP_ACCOUNT_ID}/service/baseURI.json?version=1.0`,
        );
        csdsStatus = res.status;
        await res.arrayBuffer();
        expect(sandbox.conversations.ids()).toHaveLength(7);
      },
    });
    expect(code).toBe(0);
    expect(csdsStatus).toBe(200);
    const lines = out.trim().split('\n');
    expect(lines.every((l) => /^[A-Z0-9_]+=\S+$/.test(l))).toBe(true);
    const keys = lines.map((l) => l.split('=')[0]);
    for (const k of [
      'LP_ACCOUNT_ID',
      'LP_CSDS_URL',
      'LP_ALLOWED_HOSTS',
      'LP_APP_KEY',
      'LP_APP_SECRET',
      'LP_ACCESS_TOKEN',
      'LP_ACCESS_TOKEN_SECRET',
      'LP_CLIENT_ID',
      'LP_CLIENT_SECRET',
    ]) {
      expect(keys).toContain(k);
    }
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
    expect(out).toMatch(/--fault-rate/);
    expect(await run(['--fault-rate', '2'], io)).toBe(2);
    expect(err).toMatch(/--fault-rate must be/);
    expect(await run(['--bogus'], io)).toBe(2);
  });
});

describe('lp-archive sandbox as a process', () => {
  it('runs through the lp-archive dispatcher and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'lib/cli/main.ts', 'sandbox', '--conversations', '3'],
      {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      const settings = await new Promise<Record<string, string>>((resolve, reject) => {
        child.on('exit', (code) => reject(new Error(`exited early with ${code}`)));
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          if (/^LP_CLIENT_SECRET=.*\n/m.test(out)) {
            resolve(
              Object.fromEntries(
                out
                  .trim()
                  .split('\n')
                  .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
              ),
            );
          }
        });
      });
      const res = await fetch(
        `${settings.LP_CSDS_URL}/api/account/${settings.LP_ACCOUNT_ID}/service/msgHist/baseURI.json?version=1.0`,
      );
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
