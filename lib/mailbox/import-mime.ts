/** GRAPH_IMPORT_MODE=importMime: each planned message is imported from MIME with Graph's importMime. */
import type { GraphClient } from '../graph/client.js';
import { GraphError } from '../graph/errors.js';
import { assembleMessage } from './assemble.js';
import { base64Encoder, base64Length } from './base64.js';
import { planImport } from './import-plan.js';
import {
  type ImportedMessage,
  type ImportOutcome,
  type MailboxImporter,
  type MailboxTarget,
  type StoredItem,
  uploadTimeoutMs,
} from './importer.js';

export class ImportMimeImporter implements MailboxImporter {
  readonly mode = 'importMime' as const;

  constructor(
    private readonly graph: GraphClient,
    private readonly opts: { maxItemBytes: number; maxRawPerMessage?: number },
  ) {}

  async import(item: StoredItem, target: MailboxTarget): Promise<ImportOutcome> {
    const plan = await planImport({
      index: item.index,
      source: item.source,
      archivePath: item.archivePath,
      itemSha256: item.sha256,
      maxItemBytes: this.opts.maxItemBytes,
      ...(this.opts.maxRawPerMessage ? { maxRawPerMessage: this.opts.maxRawPerMessage } : {}),
    });
    const messages =
      plan.kind === 'whole'
        ? [{ messageId: plan.messageId, size: plan.size, open: () => item.source.open() }]
        : plan.messages.map((m) => ({
            messageId: m.messageId,
            size: m.size,
            open: async () => assembleMessage(m, item.source),
          }));
    const done: ImportedMessage[] = [];
    for (const m of messages) {
      const existing = await this.graph.findMessages(target.user, target.folderId, m.messageId);
      if (existing[0]) {
        done.push({ messageId: m.messageId, graphId: existing[0].id, state: 'found' });
        continue;
      }
      const created = await this.graph.importMime(
        target.user,
        target.folderId,
        {
          length: base64Length(m.size),
          open: async () => {
            const raw = await m.open();
            const encoder = base64Encoder();
            raw.on('error', (err) => encoder.destroy(err));
            return raw.pipe(encoder);
          },
        },
        uploadTimeoutMs(base64Length(m.size)),
      );
      if (created.isDraft !== false)
        throw new GraphError(
          `Graph importMime created ${m.messageId} as a draft (isDraft ${String(created.isDraft)})`,
          'importMime',
        );
      done.push({ messageId: m.messageId, graphId: created.id, state: 'created' });
    }
    return { messages: done, omitted: plan.kind === 'rewritten' ? plan.omitted : [] };
  }
}
