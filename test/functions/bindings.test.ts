import { beforeAll, describe, expect, it } from 'vitest';
import { capturedFunctions } from '../../dev/host/functions-core-capture.js';
import { FUNCTION_NAMES, loadFunctions } from '../e2e/pipeline-harness.js';

const trigger = (name: string) => {
  const fn = capturedFunctions().get(name);
  if (!fn) throw new Error(`function ${name} not registered`);
  const bindings = Object.values(fn.metadata.bindings);
  return { fn, bindings, trigger: bindings.find((b) => b.direction === 'in' && b.type.endsWith('Trigger')) };
};

describe('binding metadata as the host receives it', () => {
  beforeAll(async () => {
    await loadFunctions();
  });

  it('registers exactly the app’s functions', () => {
    for (const n of FUNCTION_NAMES) expect(capturedFunctions().has(n)).toBe(true);
  });

  it('discovery: timer on the schedule setting, no overlap of runs', () => {
    expect(trigger('discoverConversations').trigger).toMatchObject({
      type: 'timerTrigger',
      schedule: '%DISCOVERY_SCHEDULE%',
      runOnStartup: false,
      useMonitor: true,
    });
  });

  it('archive and poison handler: queue triggers on the archive queue and its -poison queue', () => {
    expect(trigger('archiveConversation').trigger).toMatchObject({
      type: 'queueTrigger',
      queueName: '%ARCHIVE_QUEUE%',
      connection: 'AzureWebJobsStorage',
    });
    expect(trigger('recordArchiveFailure').trigger).toMatchObject({
      type: 'queueTrigger',
      queueName: '%ARCHIVE_QUEUE%-poison',
      connection: 'AzureWebJobsStorage',
    });
  });

  it('status recorder: an Event Grid trigger (no blob binding, so the body is never downloaded)', () => {
    const t = trigger('recordStatus');
    expect(t.trigger).toMatchObject({ type: 'eventGridTrigger', direction: 'in' });
    expect(t.bindings.filter((b) => b.type.startsWith('blob'))).toEqual([]);
  });

  it('log downloads: GET behind Entra sign-in (log, log/summary) and behind a function key (automation/...)', () => {
    for (const [name, authLevel, route] of [
      ['downloadLog', 'anonymous', 'log'],
      ['downloadLogSummary', 'anonymous', 'log/summary'],
      ['downloadLogByKey', 'function', 'automation/log'],
      ['downloadLogSummaryByKey', 'function', 'automation/log/summary'],
    ] as const)
      expect(trigger(name).trigger, name).toMatchObject({
        type: 'httpTrigger',
        authLevel,
        methods: ['GET'],
        route,
      });
  });

  it('mailbox delivery: plan and delivery queues, each with its poison handler', () => {
    expect(trigger('planMailboxDelivery').trigger).toMatchObject({
      type: 'queueTrigger',
      queueName: '%DELIVERY_PLAN_QUEUE%',
    });
    expect(trigger('recordPlanFailure').trigger).toMatchObject({ queueName: '%DELIVERY_PLAN_QUEUE%-poison' });
    expect(trigger('deliverToMailbox').trigger).toMatchObject({
      type: 'queueTrigger',
      queueName: '%DELIVERY_QUEUE%',
    });
    expect(trigger('recordDeliveryFailure').trigger).toMatchObject({ queueName: '%DELIVERY_QUEUE%-poison' });
  });
});
