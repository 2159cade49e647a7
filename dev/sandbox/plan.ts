/**
 * A generated conversation as a timeline: everything that will ever happen to it (start, messages, transfers,
 * close, survey, later changes), each at an instant. The renderer shows the state as of a given instant, so
 * the same plan is OPEN before its close and changes again when a late survey or a redaction comes due.
 * A plan is a pure function of (seed, index, startL): cheap to rebuild, so the sandbox keeps only its times.
 */
import { AGENTS, BOTS, MANAGERS, type SandboxUser, SKILLS, type Skill, UNASSIGNED } from './directory.js';
import { type FileType, fileTypeOf } from './files.js';
import { chance, digits, hashSeed, int, mulberry32, pick, type Rng, uuid } from './prng.js';
import {
  AGENT_LINES,
  BOT_LINES,
  CAPTIONS,
  CONSUMER_LINES,
  CONSUMER_OPENERS,
  FIRST_NAMES,
  LAST_NAMES,
  PRIVATE_LINES,
  SUMMARIES,
  SURVEY_QUESTIONS,
} from './texts.js';

export type Sender = 'consumer' | 'agent';

export interface PlannedFile {
  relativePath: string;
  fileType: FileType;
  caption: string;
}

export interface PlannedMessage {
  t: number;
  seq: number;
  dialog: 'main' | 'survey';
  sender: Sender;
  /** Consumer participantId, or the agent/bot/manager user id. */
  participantId: string;
  audience: 'ALL' | 'AGENTS_AND_MANAGERS';
  text?: string;
  rich?: string;
  quickReplies?: string;
  file?: PlannedFile;
}

export interface PlannedAgent {
  user: SandboxUser;
  joinL: number;
  role: 'AGENT' | 'MANAGER';
  permission: 'ASSIGNED_AGENT' | 'READER';
  skill: Skill;
}

export interface PlannedTransfer {
  t: number;
  from: Skill;
  to: Skill;
  reason: 'Skill' | 'Agent' | 'back2Q';
  by: string;
  sourceAgent?: SandboxUser;
}

export interface PlannedSurveyAnswer {
  t: number;
  questionId: string;
  question: string;
  questionType: string;
  answer: string;
  answerIndex: number;
}

export interface PlannedSurvey {
  dialogId: string;
  surveyId: string;
  startL: number;
  /** Answers; the dialog closes at the last answer (endTime moves then). */
  answers: PlannedSurveyAnswer[];
}

export interface PlannedSde {
  t: number;
  type: 'personalInfo' | 'customerInfo';
  payload: Record<string, unknown>;
}

export interface Plan {
  index: number;
  conversationId: string;
  startL: number;
  consumer: {
    participantId: string;
    firstName: string;
    lastName: string;
    /** placeholder: profile says "undefined"; profile: real e-mail in the profile; sde: only in personalInfo. */
    emailMode: 'placeholder' | 'profile' | 'sde';
    email: string;
    phone: string;
  };
  channel: { source: string; device: string; browser: string; os: string; integration: string };
  language: string;
  timeZone: string;
  country: { name: string; code: string; ip: string };
  agents: PlannedAgent[];
  transfers: PlannedTransfer[];
  messages: PlannedMessage[];
  /** conversationEndTime; undefined = stays open for ever. */
  closeL?: number;
  closeReason: 'AGENT' | 'CONSUMER' | 'SYSTEM';
  survey?: PlannedSurvey;
  summary?: { t: number; text: string };
  sdes: PlannedSde[];
  /** GDPR deletion planned for this instant (days after close). */
  redactL?: number;
  campaignIndex: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const CHANNELS = [
  { source: 'SHARK', device: 'DESKTOP', browser: 'CHROME', os: 'WINDOWS', integration: 'web-sdk' },
  { source: 'SHARK', device: 'MOBILE', browser: 'SAFARI', os: 'IOS', integration: 'web-sdk' },
  { source: 'APP', device: 'MOBILE', browser: 'OTHER', os: 'ANDROID', integration: 'mobile-sdk' },
  { source: 'WhatsApp Business', device: 'MOBILE', browser: 'OTHER', os: 'OTHER', integration: 'brand-sdk' },
  { source: 'SMS', device: 'NA', browser: 'OTHER', os: 'OTHER', integration: 'brand-sdk' },
];
const COUNTRIES = [
  { name: 'United Kingdom', code: 'GB', tz: 'Europe/London', lang: 'en-GB' },
  { name: 'United States', code: 'US', tz: 'America/New_York', lang: 'en-US' },
  { name: 'Israel', code: 'IL', tz: 'Asia/Jerusalem', lang: 'he-IL' },
  { name: 'Egypt', code: 'EG', tz: 'Africa/Cairo', lang: 'ar-EG' },
  { name: 'Japan', code: 'JP', tz: 'Asia/Tokyo', lang: 'ja-JP' },
  { name: 'Germany', code: 'DE', tz: 'Europe/Berlin', lang: 'de-DE' },
];

function richCard(rng: Rng): string {
  return JSON.stringify({
    type: 'vertical',
    elements: [
      {
        type: 'text',
        text: pick(rng, ['Refund issued', 'Your options', 'خيارات الدفع', '選択してください']),
      },
      { type: 'image', url: 'https://cdn.brand.example/card.png', tooltip: 'card' },
      {
        type: 'button',
        title: 'Open invoice',
        click: {
          actions: [{ type: 'link', name: 'Open', uri: 'https://brand.example/invoice?id=17&x=<y>' }],
        },
      },
    ],
  });
}

function quickReplies(): string {
  return JSON.stringify({
    type: 'quickReplies',
    itemsPerRow: 8,
    replies: [
      { type: 'button', title: 'Yes', click: { actions: [{ type: 'publishText', text: 'Yes' }] } },
      { type: 'button', title: 'No', click: { actions: [{ type: 'publishText', text: 'No' }] } },
    ],
  });
}

function plannedFile(rng: Rng, accountId: string): PlannedFile {
  const fileType = pick(rng, ['PNG', 'PNG', 'JPG', 'JPG', 'GIF', 'PDF', 'TXT'] as const);
  const relativePath = `/v1/AUTH_async-images/${accountId}/${uuid(rng)}.${fileType}`;
  return {
    relativePath,
    fileType: fileTypeOf(relativePath),
    caption: pick(rng, CAPTIONS[fileType] ?? ['file']),
  };
}

function agentFor(rng: Rng, skill: Skill, not?: SandboxUser): SandboxUser {
  const candidates = AGENTS.filter((a) => a.skillIds.includes(skill.id) && a !== not);
  return pick(rng, candidates.length ? candidates : AGENTS);
}

/** Conversations whose index hits this get more than 50 files, so Bulk File Download splits them. */
export function isManyFilesIndex(seed: number, index: number): boolean {
  return hashSeed(seed, `many:${index}`) % 61 === 7;
}

export function planConversation(seed: number, accountId: string, index: number, startL: number): Plan {
  const rng = mulberry32(hashSeed(seed, `conv:${index}`));
  const conversationId = uuid(rng);
  const consumerId = uuid(rng);
  const firstName = pick(rng, FIRST_NAMES);
  const lastName = pick(rng, LAST_NAMES);
  const emailRoll = rng();
  const emailMode = emailRoll < 0.4 ? 'placeholder' : emailRoll < 0.7 ? 'profile' : 'sde';
  const email = `${
    firstName
      .normalize('NFD')
      .replace(/[^a-zA-Z]/g, '')
      .toLowerCase() || 'user'
  }.${digits(rng, 4)}@mail.example`;
  const country = pick(rng, COUNTRIES);
  const plan: Plan = {
    index,
    conversationId,
    startL,
    consumer: {
      participantId: consumerId,
      firstName,
      lastName,
      emailMode,
      email,
      phone: `+44 20 7946 ${digits(rng, 4)}`,
    },
    channel: pick(rng, CHANNELS),
    language: country.lang,
    timeZone: country.tz,
    country: { name: country.name, code: country.code, ip: `203.0.113.${int(rng, 1, 254)}` },
    agents: [],
    transfers: [],
    messages: [],
    closeReason: 'AGENT',
    sdes: [],
    campaignIndex: int(rng, 0, 2),
  };

  let t = startL + int(rng, 200, 3000);
  let seq = 0;
  const msg = (m: Omit<PlannedMessage, 'seq' | 'dialog' | 'audience'> & Partial<PlannedMessage>) => {
    plan.messages.push({ dialog: 'main', audience: 'ALL', seq: seq++, ...m });
  };
  const step = (min: number, max: number) => {
    t += int(rng, min, max);
    return t;
  };

  if (emailMode === 'sde' || chance(rng, 0.3)) {
    plan.sdes.push({
      t: startL + int(rng, 100, 900),
      type: 'personalInfo',
      payload: {
        name: firstName,
        surname: lastName,
        language: country.lang,
        contacts: [{ personalContact: { email, phone: plan.consumer.phone } }],
      },
    });
  }
  if (chance(rng, 0.5)) {
    plan.sdes.push({
      t: startL + int(rng, 1000, 5000),
      type: 'customerInfo',
      payload: { customerId: `CUST-${digits(rng, 6)}`, customerType: pick(rng, ['vip', 'regular', 'new']) },
    });
  }

  msg({ t, sender: 'consumer', participantId: consumerId, text: pick(rng, CONSUMER_OPENERS) });

  // Optional bot front door, then a skill transfer to a human.
  let skill = pick(rng, SKILLS);
  if (chance(rng, 0.3)) {
    const bot = pick(rng, BOTS);
    plan.agents.push({
      user: bot,
      joinL: step(300, 2000),
      role: 'AGENT',
      permission: 'ASSIGNED_AGENT',
      skill: UNASSIGNED,
    });
    msg({ t: step(500, 3000), sender: 'agent', participantId: bot.id, text: pick(rng, BOT_LINES) });
    if (chance(rng, 0.5))
      msg({
        t: step(500, 2000),
        sender: 'agent',
        participantId: bot.id,
        quickReplies: quickReplies(),
        text: 'Is this about billing?',
      });
    plan.transfers.push({ t: step(1000, 5000), from: UNASSIGNED, to: skill, reason: 'Skill', by: bot.id });
  }
  let agent = agentFor(rng, skill);
  plan.agents.push({
    user: agent,
    joinL: step(5 * SECOND, 3 * MINUTE),
    role: 'AGENT',
    permission: 'ASSIGNED_AGENT',
    skill,
  });

  const manyFiles = isManyFilesIndex(seed, index);
  const turns = int(rng, 2, 9);
  for (let turn = 0; turn < turns; turn++) {
    msg({
      t: step(10 * SECOND, 4 * MINUTE),
      sender: 'agent',
      participantId: agent.id,
      text: pick(rng, AGENT_LINES),
    });
    if (chance(rng, 0.12)) {
      msg({ t: step(2 * SECOND, MINUTE), sender: 'agent', participantId: agent.id, rich: richCard(rng) });
    }
    msg({
      t: step(5 * SECOND, 5 * MINUTE),
      sender: 'consumer',
      participantId: consumerId,
      text: pick(rng, CONSUMER_LINES),
    });
    if (chance(rng, 0.05)) {
      msg({
        t: step(2 * SECOND, MINUTE),
        sender: 'consumer',
        participantId: consumerId,
        file: plannedFile(rng, accountId),
      });
    }
    if (turn === 0 && manyFiles) {
      const n = int(rng, 51, 56);
      for (let i = 0; i < n; i++) {
        msg({
          t: step(SECOND, 3 * SECOND),
          sender: 'consumer',
          participantId: consumerId,
          file: plannedFile(rng, accountId),
        });
      }
    }
    if (chance(rng, 0.06)) {
      msg({
        t: step(2 * SECOND, MINUTE),
        sender: 'agent',
        participantId: agent.id,
        audience: 'AGENTS_AND_MANAGERS',
        text: pick(rng, PRIVATE_LINES),
      });
    }
    if (turn === 1 && chance(rng, 0.15)) {
      const manager = pick(rng, MANAGERS);
      plan.agents.push({
        user: manager,
        joinL: step(5 * SECOND, MINUTE),
        role: 'MANAGER',
        permission: 'READER',
        skill,
      });
      msg({
        t: step(5 * SECOND, MINUTE),
        sender: 'agent',
        participantId: manager.id,
        audience: 'AGENTS_AND_MANAGERS',
        text: pick(rng, PRIVATE_LINES),
      });
    }
    if (turn === 1 && chance(rng, 0.25)) {
      const to = pick(
        rng,
        SKILLS.filter((s) => s !== skill),
      );
      const next = agentFor(rng, to, agent);
      plan.transfers.push({
        t: step(10 * SECOND, MINUTE),
        from: skill,
        to,
        reason: 'Skill',
        by: agent.id,
        sourceAgent: agent,
      });
      skill = to;
      agent = next;
      plan.agents.push({
        user: agent,
        joinL: step(10 * SECOND, 2 * MINUTE),
        role: 'AGENT',
        permission: 'ASSIGNED_AGENT',
        skill,
      });
    }
  }

  // ~6% stay open for ever (abandoned, awaiting the consumer).
  if (!chance(rng, 0.06)) {
    plan.closeL = step(10 * SECOND, 3 * MINUTE);
    plan.closeReason = pick(rng, ['AGENT', 'AGENT', 'CONSUMER', 'SYSTEM'] as const);
    if (chance(rng, 0.5))
      plan.summary = { t: plan.closeL + int(rng, 5 * SECOND, 2 * MINUTE), text: pick(rng, SUMMARIES) };
    // Post-conversation survey: most answered within minutes, some answered hours later (endTime moves then).
    if (chance(rng, 0.4)) {
      const late = chance(rng, 0.25);
      const surveyStart = plan.closeL + 100;
      let at = late
        ? surveyStart + int(rng, 2 * HOUR, 30 * HOUR)
        : surveyStart + int(rng, 10 * SECOND, 2 * MINUTE);
      const survey: PlannedSurvey = {
        dialogId: uuid(rng),
        surveyId: digits(rng, 10),
        startL: surveyStart,
        answers: [],
      };
      const count = int(rng, 1, SURVEY_QUESTIONS.length);
      for (let i = 0; i < count; i++) {
        const q = SURVEY_QUESTIONS[i]!;
        const answerIndex = int(rng, 0, q.answers.length - 1);
        survey.answers.push({
          t: at,
          questionId: q.questionId,
          question: q.question,
          questionType: q.questionType,
          answer: q.answers[answerIndex]!,
          answerIndex,
        });
        at += int(rng, 3 * SECOND, 30 * SECOND);
      }
      plan.survey = survey;
    }
    if (chance(rng, 0.04)) plan.redactL = plan.closeL + int(rng, 1 * DAY, 20 * DAY);
  }
  return plan;
}

/** Every instant at which the plan changes what the API shows (sorted ascending). */
export function planTimes(plan: Plan): number[] {
  const times = [plan.startL];
  for (const m of plan.messages) times.push(m.t, m.t + 1500);
  for (const a of plan.agents) times.push(a.joinL);
  for (const tr of plan.transfers) times.push(tr.t);
  for (const s of plan.sdes) times.push(s.t);
  if (plan.closeL !== undefined) times.push(plan.closeL);
  if (plan.summary) times.push(plan.summary.t);
  if (plan.survey) {
    times.push(plan.survey.startL);
    for (const a of plan.survey.answers) times.push(a.t);
  }
  if (plan.redactL !== undefined) times.push(plan.redactL);
  return times.sort((a, b) => a - b);
}
