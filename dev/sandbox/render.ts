/**
 * Renders a planned conversation as a Messaging Interactions record (reference §4) as of one instant:
 * only events at or before that instant exist, so status, endTime, surveys and redaction follow the clock.
 */
import { userById } from './directory.js';
import { previewOf } from './files.js';
import type { Plan, PlannedMessage, PlannedSurvey } from './plan.js';
import { hashSeed } from './prng.js';

export const DELETED = '** LP deleted data **';

/** Containers returned when contentToRetrieve is absent (reference §3.1). */
export const DEFAULT_CONTENT = [
  'campaign',
  'messageRecords',
  'agentParticipants',
  'agentParticipantsLeave',
  'agentParticipantsActive',
  'consumerParticipants',
  'transfers',
  'interactions',
  'messageScores',
  'messageStatuses',
  'conversationSurveys',
  'coBrowseSessions',
  'summary',
  'sdes',
] as const;

export const VALID_CONTENT = new Set<string>([
  ...DEFAULT_CONTENT,
  'unAuthSdes',
  'monitoring',
  'dialogs',
  'responseTime',
  'skillChanges',
  'intents',
  'uniqueIntents',
  'latestAgentSurvey',
  'previouslySubmittedAgentSurveys',
]);

/** Changes made at run time through the in-process API (on top of what the plan already holds). */
export interface RuntimeChanges {
  redactL?: number;
  /** Instants at which addLateSurvey() answered a survey question (each adds one answer; history is kept). */
  lateSurveys: number[];
  // biome-ignore lint/suspicious/noExplicitAny: a raw record is untyped JSON; tests mutate it freely
  corruptions: Array<(raw: any) => void>;
  removedFiles: Set<string>;
}

export interface RenderOptions {
  seed: number;
  accountId: string;
  asOf: number;
  /** by-ID view: all SDE updates and file previews. Search shows only the last SDE update, no previews. */
  byId: boolean;
  content: ReadonlySet<string>;
}

export function lpTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '+0000');
}

export function effectiveRedactL(plan: Plan, changes?: RuntimeChanges): number | undefined {
  const times = [plan.redactL, changes?.redactL].filter((t): t is number => t !== undefined);
  return times.length ? Math.min(...times) : undefined;
}

/** The survey as it stands with the answers given through addLateSurvey() folded in (in time order). */
export function effectiveSurvey(plan: Plan, changes?: RuntimeChanges): PlannedSurvey | undefined {
  const late = changes?.lateSurveys ?? [];
  if (late.length === 0 || plan.closeL === undefined) return plan.survey;
  const base: PlannedSurvey = plan.survey
    ? { ...plan.survey, answers: [...plan.survey.answers] }
    : {
        dialogId: `${plan.conversationId.slice(0, 24)}5a5a5a5a5a5a`,
        surveyId: '3592872510',
        startL: plan.closeL + 100,
        answers: [],
      };
  for (const t of late) {
    base.answers.push({
      t,
      questionId: 'q3',
      question: 'Anything else you would like to tell us?',
      questionType: 'custom',
      answer: 'Late feedback: thanks again 🙏',
      answerIndex: 0,
    });
  }
  base.answers.sort((a, b) => a.t - b.t);
  return base;
}

/** The hosted files the conversation shows as of an instant (relativePaths, in message order). */
export function visibleFiles(plan: Plan, asOf: number): string[] {
  return plan.messages.filter((m) => m.file && m.t <= asOf).map((m) => m.file!.relativePath);
}

interface Derived {
  closed: boolean;
  conversationEndL: number;
  fullDialogEndL: number;
  fullDialogClosed: boolean;
  survey?: PlannedSurvey;
}

function derive(plan: Plan, changes: RuntimeChanges | undefined, asOf: number): Derived {
  const closed = plan.closeL !== undefined && plan.closeL <= asOf;
  const survey = closed ? effectiveSurvey(plan, changes) : undefined;
  if (!closed) return { closed, conversationEndL: -1, fullDialogEndL: -1, fullDialogClosed: false };
  const closeL = plan.closeL!;
  if (!survey || survey.startL > asOf) {
    return { closed, conversationEndL: closeL, fullDialogEndL: closeL, fullDialogClosed: !survey, survey };
  }
  const last = survey.answers[survey.answers.length - 1];
  const done = last !== undefined && last.t <= asOf;
  return {
    closed,
    conversationEndL: closeL,
    fullDialogEndL: done ? last.t : closeL,
    fullDialogClosed: done,
    survey,
  };
}

/** Status/end as of an instant, for filtering and sorting without rendering the whole record. */
export function statusAsOf(plan: Plan, changes: RuntimeChanges | undefined, asOf: number) {
  const d = derive(plan, changes, asOf);
  return { status: d.closed ? 'CLOSE' : 'OPEN', endL: d.closed ? d.fullDialogEndL : -1 } as const;
}

function mcsOf(plan: Plan): number {
  return (hashSeed(plan.index, plan.conversationId) % 200) - 100;
}

export function renderRecord(
  plan: Plan,
  changes: RuntimeChanges | undefined,
  o: RenderOptions,
): Record<string, unknown> {
  const { asOf } = o;
  const d = derive(plan, changes, asOf);
  const redactL = effectiveRedactL(plan, changes);
  const redacted = redactL !== undefined && redactL <= asOf;
  const del = (s: string) => (redacted ? DELETED : s);
  const convId = plan.conversationId;
  const mainMessages = plan.messages.filter((m) => m.t <= asOf);
  const agents = plan.agents.filter((a) => a.joinL <= asOf);
  const transfers = plan.transfers.filter((t) => t.t <= asOf);
  const assigned = agents.filter((a) => a.permission === 'ASSIGNED_AGENT');
  const latest = assigned[assigned.length - 1];
  const latestSkill = transfers.length ? transfers[transfers.length - 1]!.to : latest?.skill;
  const mcs = mcsOf(plan);

  const info: Record<string, unknown> = {
    startTime: lpTime(plan.startL),
    startTimeL: plan.startL,
    endTime: d.closed ? lpTime(d.fullDialogEndL) : 'undefined',
    endTimeL: d.closed ? d.fullDialogEndL : -1,
    duration: (d.closed ? d.fullDialogEndL : asOf) - plan.startL,
    conversationId: convId,
    brandId: o.accountId,
    latestAgentId: latest?.user.id ?? '-1',
    latestAgentLoginName: latest?.user.loginName ?? 'undefined',
    latestAgentNickname: latest?.user.nickname ?? 'undefined',
    latestAgentFullName: latest?.user.fullName ?? 'undefined',
    agentDeleted: latest?.user.deleted ?? false,
    latestSkillId: latestSkill?.id ?? -1,
    latestSkillName: latestSkill?.name ?? 'Unassigned',
    latestAgentGroupId: -1,
    latestAgentGroupName: 'Main Group',
    source: plan.channel.source,
    device: plan.channel.device,
    browser: plan.channel.browser,
    operatingSystem: plan.channel.os,
    status: d.closed ? 'CLOSE' : 'OPEN',
    fullDialogStatus: d.fullDialogClosed ? 'CLOSE' : 'OPEN',
    firstConversation: plan.index % 3 === 0,
    mcs,
    alertedMCS: mcs < -30 ? -1 : mcs > 30 ? 1 : 0,
    latestQueueState: latest ? 'ACTIVE' : 'IN_QUEUE',
    isPartial: false,
    pendingAgentSurvey: false,
    timeZone: plan.timeZone,
    language: plan.language,
    integration: plan.channel.integration,
  };
  if (d.closed) {
    Object.assign(info, {
      conversationEndTime: lpTime(d.conversationEndL),
      conversationEndTimeL: d.conversationEndL,
      fullDialogEndTime: lpTime(d.fullDialogEndL),
      fullDialogEndTimeL: d.fullDialogEndL,
      closeReason: plan.closeReason,
      closeReasonDescription: plan.closeReason === 'SYSTEM' ? 'AUTO_CLOSE' : 'MANUAL_CLOSE',
    });
    const answers = d.survey?.answers.filter((a) => a.t <= asOf && a.questionType === 'csat');
    if (answers?.length) info.csatRate = Number(answers[0]!.answer);
  }

  const record: Record<string, unknown> = { info };
  const want = (name: string) => o.content.has(name);

  if (want('campaign')) {
    const names = ['Billing button', 'Proactive offer', 'Mobile app entry'];
    record.campaign = {
      campaignEngagementId: `23305962${plan.campaignIndex}2`,
      campaignEngagementName: names[plan.campaignIndex],
      campaignId: '2266771712',
      campaignName: 'Live_Chat_on_your_site',
      goalId: '2266719412',
      goalName: 'Interact with visitors',
      engagementSource: plan.channel.source === 'APP' ? 'APP' : 'WEB_SITE',
      lobId: -1,
      lobName: 'NA',
      locationId: '2266779612',
      locationName: 'Entire site',
    };
  }
  if (want('monitoring')) {
    record.monitoring = {
      country: plan.country.name,
      countryCode: plan.country.code,
      device: plan.channel.device,
      ipAddress: del(plan.country.ip),
      browser: plan.channel.browser,
      operatingSystem: plan.channel.os,
      conversationStartPage: 'https://www.brand.example/billing',
      conversationStartPageTitle: 'Billing',
    };
  }

  if (want('messageRecords')) {
    const records = mainMessages.map((m) => messageRecord(m, convId, redacted, o));
    if (d.survey) {
      d.survey.answers
        .filter((a) => a.t <= asOf)
        .forEach((a, i) => {
          records.push({
            type: 'TEXT_PLAIN',
            messageData: { msg: { text: a.questionType === 'custom' ? del(a.answer) : a.answer } },
            messageId: `ms::dialog:${d.survey!.dialogId}::msg:${i + 1}`,
            seq: i + 1,
            dialogId: d.survey!.dialogId,
            participantId: plan.consumer.participantId,
            time: lpTime(a.t),
            timeL: a.t,
            audience: 'ALL',
            sentBy: 'Consumer',
          });
        });
    }
    record.messageRecords = records;
  }

  const participants = agents.map((a) => ({
    agentId: a.user.id,
    agentLoginName: a.user.loginName,
    agentNickname: a.user.nickname,
    agentFullName: a.user.fullName,
    agentDeleted: a.user.deleted,
    userType: String(a.user.userTypeId),
    userTypeName: a.user.userTypeId === 2 ? 'Bot' : 'Human',
    role: a.role,
    permission: a.permission,
    agentGroupId: -1,
    agentGroupName: 'Main Group',
    time: lpTime(a.joinL),
    timeL: a.joinL,
    dialogId: convId,
  }));
  if (want('agentParticipants')) record.agentParticipants = participants;
  if (want('agentParticipantsActive')) record.agentParticipantsActive = d.closed ? [] : participants;
  if (want('agentParticipantsLeave')) record.agentParticipantsLeave = d.closed ? participants : [];

  if (want('consumerParticipants')) {
    const c = plan.consumer;
    record.consumerParticipants = [
      {
        participantId: c.participantId,
        firstName: del(c.firstName),
        lastName: del(c.lastName),
        email: c.emailMode === 'profile' ? del(c.email) : 'undefined',
        phone: c.emailMode === 'profile' ? del(c.phone) : '0',
        token: 'undefined',
        avatarURL: 'undefined',
        consumerName: del(c.firstName),
        time: lpTime(plan.startL + 12),
        timeL: plan.startL + 12,
        joinTime: lpTime(plan.startL + 12),
        joinTimeL: plan.startL + 12,
        dialogId: convId,
      },
    ];
  }

  if (want('transfers')) {
    record.transfers = transfers.map((t) => {
      return {
        time: lpTime(t.t),
        timeL: t.t,
        assignedAgentId: 'null',
        targetSkillId: t.to.id,
        targetSkillName: t.to.name,
        sourceSkillId: t.from.id,
        sourceSkillName: t.from.name,
        reason: t.reason,
        by: t.by,
        ...(t.sourceAgent
          ? {
              sourceAgentId: t.sourceAgent.id,
              sourceAgentLoginName: t.sourceAgent.loginName,
              sourceAgentNickname: t.sourceAgent.nickname,
              sourceAgentFullName: t.sourceAgent.fullName,
            }
          : {}),
        dialogId: convId,
      };
    });
  }

  if (want('interactions')) {
    record.interactions = assigned.map((a, i) => ({
      assignedAgentId: a.user.id,
      assignedAgentLoginName: a.user.loginName,
      assignedAgentNickname: a.user.nickname,
      assignedAgentFullName: a.user.fullName,
      interactionTime: lpTime(a.joinL - 100),
      interactionTimeL: a.joinL - 100,
      interactiveSequence: i + 1,
      dialogId: convId,
    }));
  }

  if (want('dialogs')) {
    const dialogs: Record<string, unknown>[] = [
      {
        dialogId: convId,
        status: d.closed ? 'CLOSE' : 'OPEN',
        dialogType: 'MAIN',
        dialogChannelType: 'MESSAGING',
        startTime: lpTime(plan.startL),
        startTimeL: plan.startL,
        ...(d.closed
          ? {
              endTime: lpTime(d.conversationEndL),
              endTimeL: d.conversationEndL,
              closeReason: plan.closeReason,
              closeReasonDescription: plan.closeReason === 'SYSTEM' ? 'AUTO_CLOSE' : 'MANUAL_CLOSE',
            }
          : { endTime: 'undefined', endTimeL: -1 }),
        skillId: String(latestSkill?.id ?? -1),
        skillName: latestSkill?.name ?? 'Unassigned',
      },
    ];
    if (d.survey && d.survey.startL <= asOf) {
      dialogs.push({
        dialogId: d.survey.dialogId,
        status: d.fullDialogClosed ? 'CLOSE' : 'OPEN',
        dialogType: 'POST_SURVEY',
        dialogChannelType: 'MESSAGING',
        startTime: lpTime(d.survey.startL),
        startTimeL: d.survey.startL,
        endTime: d.fullDialogClosed ? lpTime(d.fullDialogEndL) : 'undefined',
        endTimeL: d.fullDialogClosed ? d.fullDialogEndL : -1,
      });
    }
    record.dialogs = dialogs;
  }

  if (want('messageStatuses')) {
    record.messageStatuses = mainMessages
      .filter((m) => m.t + 1500 <= asOf)
      .map((m) => ({
        messageId: `ms::conv:${convId}::msg:${m.seq}`,
        seq: m.seq,
        time: lpTime(m.t + 1500),
        timeL: m.t + 1500,
        participantId: m.sender === 'consumer' ? (latest?.user.id ?? '-1') : plan.consumer.participantId,
        participantType: m.sender === 'consumer' ? 'Agent' : 'Consumer',
        messageDeliveryStatus: 'READ',
        dialogId: convId,
      }));
  }
  if (want('messageScores')) {
    record.messageScores = mainMessages
      .filter((m) => m.sender === 'consumer')
      .map((m) => ({
        messageId: `ms::conv:${convId}::msg:${m.seq}`,
        messageRawScore: (hashSeed(m.seq, convId) % 3) - 1,
        mcs,
        time: lpTime(m.t + 500),
        timeL: m.t + 500,
      }));
  }

  if (want('conversationSurveys')) {
    const answers = d.survey?.answers.filter((a) => a.t <= asOf) ?? [];
    record.conversationSurveys = answers.length
      ? [
          {
            surveyType: 'PostSurvey',
            surveyStatus: d.fullDialogClosed ? 'FILLED' : 'PARTIALLY_FILLED',
            dialogId: d.survey!.dialogId,
            surveyId: d.survey!.surveyId,
            surveyData: answers.map((a) => ({
              question: a.question,
              answer: a.questionType === 'custom' ? del(a.answer) : a.answer,
              questionId: a.questionId,
              answerId: `a${a.answerIndex + 1}`,
              questionType: a.questionType,
              questionFormat: a.questionType === 'custom' ? 'free_text' : 'single',
              answerSeq: String(a.answerIndex + 1),
              isValidAnswer: true,
            })),
          },
        ]
      : [];
  }
  if (want('coBrowseSessions')) record.coBrowseSessions = { coBrowseSessionsList: [] };
  if (want('summary') && plan.summary && plan.summary.t <= asOf) {
    record.summary = { text: del(plan.summary.text), lastUpdatedTime: plan.summary.t };
  }
  if (want('responseTime'))
    record.responseTime = { latestEffectiveResponseDueTime: -1, configuredResponseTime: 3600000 };

  if (want('sdes')) {
    let events = plan.sdes
      .filter((s) => s.t <= asOf)
      .sort((a, b) => a.t - b.t)
      .map((s) => {
        const payload =
          redacted && s.type === 'personalInfo'
            ? {
                name: DELETED,
                surname: DELETED,
                contacts: [{ personalContact: { email: DELETED, phone: DELETED } }],
              }
            : s.payload;
        return {
          [s.type]: { serverTimeStamp: String(s.t), originalTimeStamp: String(s.t), [s.type]: payload },
          sdeType: s.type === 'personalInfo' ? 'PERSONAL_INFO' : 'CUSTOMER_INFO',
          serverTimeStamp: String(s.t),
        };
      });
    // Search returns only the last SDE update (reference §3.1 "SDE completeness caveat").
    if (!o.byId) events = events.slice(-1);
    record.sdes = { events };
  }
  if (want('unAuthSdes')) record.unAuthSdes = { events: [] };
  for (const name of ['skillChanges', 'intents', 'uniqueIntents', 'previouslySubmittedAgentSurveys']) {
    if (want(name)) record[name] = [];
  }

  for (const mutate of changes?.corruptions ?? []) mutate(record);
  return record;
}

function messageRecord(
  m: PlannedMessage,
  convId: string,
  redacted: boolean,
  o: RenderOptions,
): Record<string, unknown> {
  const del = (s: string) => (redacted ? DELETED : s);
  let type: string;
  let messageData: Record<string, unknown>;
  if (m.file) {
    type = 'HOSTED_FILE';
    // Previews come only from the by-ID method; a redacted file has none.
    const preview = o.byId && !redacted ? previewOf(o.seed, m.file.relativePath) : undefined;
    messageData = {
      file: {
        relativePath: m.file.relativePath,
        fileType: m.file.fileType,
        caption: del(m.file.caption),
        ...(preview ? { preview } : {}),
      },
    };
  } else if (m.rich) {
    type = 'RICH_CONTENT';
    messageData = { richContent: { content: del(m.rich) } };
  } else {
    type = 'TEXT_PLAIN';
    messageData = { msg: { text: del(m.text ?? '') } };
    if (m.quickReplies) messageData.quickReplies = { content: m.quickReplies };
  }
  const user = m.sender === 'agent' ? userById(m.participantId) : undefined;
  return {
    type,
    messageData,
    messageId: `ms::conv:${convId}::msg:${m.seq}`,
    seq: m.seq,
    dialogId: convId,
    participantId: m.participantId,
    time: lpTime(m.t),
    timeL: m.t,
    audience: m.audience,
    sentBy: m.sender === 'consumer' ? 'Consumer' : 'Agent',
    ...(user?.userTypeId === 2
      ? {
          contextData: {
            rawMetadata: JSON.stringify([{ type: 'BotResponse', externalConversationId: convId }]),
            structuredMetadata: [
              { botResponse: { externalConversationId: convId, businessCases: [], intents: [] } },
            ],
          },
        }
      : {}),
  };
}
