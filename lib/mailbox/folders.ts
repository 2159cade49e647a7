/**
 * Finds or creates `Inbox/<MAILBOX_FOLDER>` once per mailbox. Cached in memory (per process) and in Table
 * storage (across instances and restarts). Two instances racing to create it end with one folder: the
 * loser's create is answered 409 ErrorFolderExists, and it then looks the folder up.
 */
import type { TableClient } from '@azure/data-tables';
import type { GraphClient } from '../graph/client.js';
import { GraphError } from '../graph/errors.js';
import { safeKey } from '../ids.js';

const PARTITION = 'folder';

export class FolderResolver {
  private readonly memory = new Map<string, Promise<string>>();
  private ensured?: Promise<unknown>;

  constructor(
    private readonly graph: GraphClient,
    private readonly folderName: string,
    private readonly table?: TableClient,
  ) {}

  private rowKey(user: string): string {
    return safeKey(`${user.toLowerCase()}/${this.folderName.toLowerCase()}`);
  }

  /** The folder's id in `user`'s mailbox, creating the folder if needed. */
  folderId(user: string): Promise<string> {
    const key = user.toLowerCase();
    let p = this.memory.get(key);
    if (!p) {
      p = this.resolve(user).catch((err: unknown) => {
        this.memory.delete(key);
        throw err;
      });
      this.memory.set(key, p);
    }
    return p;
  }

  /** Drop a cached id (the folder was deleted or moved: Graph answered 404 for it). */
  async forget(user: string): Promise<void> {
    this.memory.delete(user.toLowerCase());
    if (!this.table) return;
    await this.table.deleteEntity(PARTITION, this.rowKey(user)).catch(() => {});
  }

  private async resolve(user: string): Promise<string> {
    if (this.table) {
      this.ensured ??= this.table.createTable();
      await this.ensured;
      try {
        const e = await this.table.getEntity<{ folderId: string }>(PARTITION, this.rowKey(user));
        if (typeof e.folderId === 'string' && e.folderId) return e.folderId;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      }
    }
    const id = await this.findOrCreate(user);
    if (this.table)
      await this.table.upsertEntity(
        { partitionKey: PARTITION, rowKey: this.rowKey(user), folderId: id, user, folder: this.folderName },
        'Replace',
      );
    return id;
  }

  private async findOrCreate(user: string): Promise<string> {
    const found = await this.graph.findChildFolder(user, 'inbox', this.folderName);
    if (found) return found.id;
    const created = await this.graph.createChildFolder(user, 'inbox', this.folderName);
    if (created.created) return created.folder.id;
    // Someone else created it between our lookup and our create: theirs is the one.
    const after = await this.graph.findChildFolder(user, 'inbox', this.folderName);
    if (after) return after.id;
    throw new GraphError(
      `Graph said the folder "${this.folderName}" exists in ${user}'s Inbox but it could not be found`,
      'folders.list',
      409,
      'ErrorFolderExists',
      true,
    );
  }
}
