import { app } from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';
import { describe, expect, inject, it } from 'vitest';
import { capturedFunctions } from '../../dev/host/functions-core-capture.js';

describe('test harness', () => {
  it('reaches the in-memory Azurite started for the run', async () => {
    const client = QueueServiceClient.fromConnectionString(inject('storageConnection'));
    const queue = client.getQueueClient('harness-check');
    await queue.createIfNotExists();
    await queue.sendMessage('hello');
    const props = await queue.getProperties();
    expect(props.approximateMessagesCount).toBe(1);
    await queue.delete();
  });

  it('captures @azure/functions registrations with their binding metadata', () => {
    app.storageQueue('harnessProbe', {
      queueName: 'probe-queue',
      connection: 'AzureWebJobsStorage',
      handler: async () => {},
    });
    const fn = capturedFunctions().get('harnessProbe');
    expect(fn).toBeDefined();
    const trigger = Object.values(fn!.metadata.bindings).find((b) => b.direction === 'in');
    expect(trigger).toMatchObject({
      type: 'queueTrigger',
      queueName: 'probe-queue',
      connection: 'AzureWebJobsStorage',
    });
  });
});
