/** Builds real converted items (the converter, with a file provider) for the mailbox tests. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { HostedFileProvider } from '../../lib/email/contract.js';
import { convertConversation } from '../../lib/email/convert.js';
import { readAll } from '../email/eml-assertions.js';

export interface TestFile {
  name: string;
  bytes: Buffer;
}

/** Deterministic pseudo-random bytes (incompressible, like photos). */
export function bytesOf(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A closed conversation with one consumer, one agent, a few messages and the given hosted files. */
export function recordWithFiles(id: string, files: TestFile[], agentEmail = 'jane.doe@brand.example') {
  const messages: unknown[] = [
    {
      type: 'TEXT_PLAIN',
      messageData: { msg: { text: 'Hello, I have a question about my bill.' } },
      messageId: 'm0',
      seq: 0,
      timeL: 1_718_000_001_000,
      participantId: 'c1',
      sentBy: 'Consumer',
      audience: 'ALL',
    },
    ...files.map((f, i) => ({
      type: 'HOSTED_FILE',
      messageData: {
        file: {
          relativePath: `/v1/AUTH_async-images/1/${f.name}`,
          fileType: f.name.split('.').pop()?.toUpperCase(),
          caption: f.name,
        },
      },
      messageId: `m${i + 1}`,
      seq: i + 1,
      timeL: 1_718_000_002_000 + i * 1000,
      participantId: 'c1',
      sentBy: 'Consumer',
      audience: 'ALL',
    })),
    {
      type: 'TEXT_PLAIN',
      messageData: { msg: { text: 'Thanks, all received.' } },
      messageId: `m${files.length + 1}`,
      seq: files.length + 1,
      timeL: 1_718_000_090_000,
      participantId: 'a1',
      sentBy: 'Agent',
      audience: 'ALL',
    },
  ];
  return {
    info: {
      conversationId: id,
      brandId: '12345678',
      startTimeL: 1_718_000_000_000,
      endTimeL: 1_718_000_100_000,
      status: 'CLOSE',
    },
    consumerParticipants: [{ participantId: 'c1', firstName: 'Ann', lastName: 'Lee' }],
    agentParticipants: [
      { agentId: 'a1', agentFullName: 'Jane Doe', role: 'AGENT', agentLoginName: agentEmail },
    ],
    messageRecords: messages,
  };
}

export function providerFor(files: TestFile[]): HostedFileProvider {
  return async (ref) => {
    const f = files.find((x) => ref.relativePath.endsWith(`/${x.name}`));
    return f
      ? { status: 'ok', content: Readable.from([f.bytes]), size: f.bytes.length }
      : { status: 'missing', code: 'not-in-archive', reason: 'file not in the test provider' };
  };
}

/** The .eml bytes of a converted test conversation. */
export async function itemWithFiles(id: string, files: TestFile[], agentEmail?: string) {
  const users = new Map(
    agentEmail === undefined
      ? [['a1', { id: 'a1', email: 'jane.doe@brand.example', fullName: 'Jane Doe', loginName: 'jane.doe' }]]
      : [['a1', { id: 'a1', email: agentEmail, fullName: 'Jane Doe', loginName: 'jane.doe' }]],
  );
  const r = await convertConversation(recordWithFiles(id, files, agentEmail), {
    files: providerFor(files),
    users,
  });
  const eml = await readAll(r.eml);
  return { result: r, eml };
}
