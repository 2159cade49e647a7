/** Helpers for the mailbox delivery end-to-end tests: store an item as the archive step would, read it back. */
import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { itemPaths, toBlobMetadata } from '../../lib/archive/blob-layout.js';
import { writeOnce } from '../../lib/archive/write-once-blob.js';
import { convertConversation } from '../../lib/email/convert.js';
import { providerFor, recordWithFiles, type TestFile } from '../mailbox/support.js';
import type { Pipeline } from './pipeline-harness.js';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Converts a test conversation and stores it write-once, exactly as the archive step does; the local
 * host's blob event then records it and plans its delivery.
 */
export async function archiveAndRecord(p: Pipeline, id: string, files: TestFile[], agentEmail: string) {
  const users = new Map([
    ['a1', { id: 'a1', email: agentEmail, fullName: 'Agent A1', loginName: 'agent.a1' }],
  ]);
  const r = await convertConversation(recordWithFiles(id, files, agentEmail), {
    files: providerFor(files),
    users,
  });
  const paths = itemPaths(r.conversationId, r.startTime, r.version);
  const container = p.runtime.storage.blobs.getContainerClient(p.settings.ARCHIVE_CONTAINER!);
  await container.createIfNotExists();
  const metadata = toBlobMetadata(r);
  await writeOnce(container, paths.json, r.sourceJson, {
    contentType: 'application/json',
    metadata: () => metadata,
  });
  const eml = await writeOnce(container, paths.eml, r.eml, {
    contentType: 'message/rfc822',
    metadata: () => metadata,
  });
  if (!eml.created) throw new Error('test item already stored');
  // The blob event (emulated by the local host) records it and plans its delivery, as in Azure.
  return { result: r, blobName: paths.eml, sha256: eml.sha256, size: eml.size };
}

/** Every file a mailbox copy carries, by original name, with numbered segments joined in order. */
export async function filesIn(mimes: Buffer[]): Promise<Map<string, Buffer>> {
  const pieces = new Map<string, { n: number; bytes: Buffer }[]>();
  for (const mime of mimes) {
    const mail = await simpleParser(mime);
    for (const a of mail.attachments) {
      const name = a.filename ?? '';
      const m = /^(.*)\.part-(\d+)-of-\d+$/.exec(name);
      const base = m ? m[1]! : name;
      pieces.set(base, [...(pieces.get(base) ?? []), { n: m ? Number(m[2]) : 0, bytes: a.content }]);
    }
  }
  return new Map(
    [...pieces].map(([k, v]) => [k, Buffer.concat(v.sort((a, b) => a.n - b.n).map((x) => x.bytes))]),
  );
}
