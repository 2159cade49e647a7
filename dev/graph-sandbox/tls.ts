/**
 * A fresh certificate authority and a server certificate for 127.0.0.1/localhost, made at every start:
 * MSAL (behind @azure/identity) refuses a non-https authority, so the sandbox speaks HTTPS, and clients trust
 * this CA explicitly (never by turning verification off). The CA certificate is also written to a file in a
 * private temp dir (GRAPH_CA_CERT_FILE), removed on stop.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface LoopbackTls {
  caPem: string;
  caFile: string;
  key: string;
  cert: string;
  cleanup(): Promise<void>;
}

export async function createLoopbackTls(): Promise<LoopbackTls> {
  const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000);
  const notAfterDate = new Date(Date.now() + 30 * 24 * 60 * 60 * 1000);
  // EC keys: generated in milliseconds, where 2048-bit RSA takes a noticeable share of a test's start-up.
  const ca = await generate([{ name: 'commonName', value: 'liveperson-archiver Graph sandbox CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), 'graph-sandbox-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, ca.cert, { mode: 0o600 });
  return {
    caPem: ca.cert,
    caFile,
    key: server.private,
    cert: server.cert,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
