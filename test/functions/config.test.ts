import { describe, expect, it } from 'vitest';
import { ConfigError, readAppSettings } from '../../lib/config.js';
import { resolveStorageConnection, StorageConnectionError } from '../../lib/storage/connection.js';

describe('app settings', () => {
  it('defaults every optional setting', () => {
    const s = readAppSettings({});
    expect(s.ARCHIVE_OPEN_AFTER_HOURS).toBeUndefined();
    expect(s).toMatchObject({
      DISCOVERY_SCHEDULE: '0 */5 * * * *',
      BACKFILL_DAYS: 30,
      DISCOVERY_OVERLAP_MINUTES: 15,
      ARCHIVE_QUEUE: 'archive-conversations',
      ARCHIVE_CONTAINER: 'archive',
      STATUS_TABLE: 'archivestatus',
    });
  });

  it('lists each bad setting by name, without echoing values', () => {
    try {
      readAppSettings({
        BACKFILL_DAYS: '500',
        DISCOVERY_SCHEDULE: '*/5 * * * *',
        ARCHIVE_QUEUE: 'Bad_Queue_secretvalue',
        ARCHIVE_OPEN_AFTER_HOURS: '-1',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/BACKFILL_DAYS must be a whole number between 1 and 395/);
      expect(msg).toMatch(/DISCOVERY_SCHEDULE: must be a 6-field NCRONTAB/);
      expect(msg).toMatch(/ARCHIVE_QUEUE: must be 3-63 lowercase/);
      expect(msg).toMatch(/ARCHIVE_OPEN_AFTER_HOURS must be a positive number/);
      expect(msg).not.toMatch(/secretvalue/);
    }
  });
});

describe('storage connection (host rules)', () => {
  it('the exact setting (connection string) wins over prefixed identity settings', () => {
    expect(
      resolveStorageConnection({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        AzureWebJobsStorage__accountName: 'x',
      }),
    ).toEqual({ kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
  });

  it('accountName gives all three service URIs; a user-assigned identity is honoured', () => {
    expect(
      resolveStorageConnection({
        AzureWebJobsStorage__accountName: 'starchive01',
        AzureWebJobsStorage__credential: 'managedidentity',
        AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-000000000001',
      }),
    ).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://starchive01.blob.core.windows.net',
      queueServiceUri: 'https://starchive01.queue.core.windows.net',
      tableServiceUri: 'https://starchive01.table.core.windows.net',
      credential: 'managedidentity',
      clientId: '00000000-0000-0000-0000-000000000001',
    });
  });

  it('per-service URIs; a missing one is named', () => {
    const env = {
      AzureWebJobsStorage__blobServiceUri: 'https://s.blob.core.windows.net',
      AzureWebJobsStorage__queueServiceUri: 'https://s.queue.core.windows.net',
    };
    expect(() => resolveStorageConnection(env)).toThrow(/AzureWebJobsStorage__tableServiceUri/);
    expect(() => resolveStorageConnection({})).toThrow(StorageConnectionError);
    expect(() => resolveStorageConnection({ AzureWebJobsStorage__accountName: 'S' })).toThrow(/accountName/);
  });
});
