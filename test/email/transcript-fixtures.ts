/**
 * Records for looking at the transcript: a long conversation with every kind of line (consumer, agent,
 * manager, bot, system), private notes, a 320-character token, rich content with an external image,
 * inline images and a missing file; and a right-to-left one (Hebrew agent, Arabic consumer and file
 * names). Plus real, decodable PNG and GIF bytes for the hosted files.
 */
import { Readable } from 'node:stream';
import { crc32, deflateSync } from 'node:zlib';
import type { HostedFileProvider } from '../../lib/email/contract.js';

/** A real RGB PNG of the given size: a gradient, so a screenshot shows it. */
export function pngImage(width: number, height: number, seed = 0): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = (x * 255) / width + seed * 40;
      row[2 + x * 3] = (y * 255) / height;
      row[3 + x * 3] = 160 + seed * 30;
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real 2×2 GIF (four colours). */
export function gifImage(): Buffer {
  return Buffer.from('R0lGODlhAgACAPIAAP8AAAD/AAAA//8A/wAAAAAAAAAAAAAAACwAAAAAAgACAAADA3hHDAA7', 'base64');
}

const T0 = Date.UTC(2026, 2, 4, 9, 15, 0);
const CONV = 'c0ffee00-1111-4222-8333-444455556666';
const LONG_TOKEN = `Reference:${'A1b2C3d4'.repeat(39)}`; // 322 characters, no space

export const IMAGE_BYTES: Record<string, Buffer> = {
  'screenshot.png': pngImage(640, 360),
  'receipt-photo.png': pngImage(120, 160, 2),
  'tiny.gif': gifImage(),
  'فاتورة الكهرباء.png': pngImage(300, 120, 3),
};

/** Serves the files above by relative path; anything else is missing for good. */
export const imageProvider: HostedFileProvider = async (ref) => {
  const name = ref.relativePath.split('/').pop() ?? '';
  const bytes = IMAGE_BYTES[name];
  if (bytes) return { status: 'ok', content: Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]) };
  if (name.endsWith('.pdf')) return { status: 'ok', content: Buffer.from('%PDF-1.4\n% not really a pdf\n') };
  return { status: 'missing', code: 'not-in-archive', reason: 'HTTP 404 for xyz-internal-id' };
};

function msg(
  seq: number,
  participantId: string,
  sentBy: string,
  messageData: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    type: messageData.file ? 'HOSTED_FILE' : messageData.richContent ? 'RICH_CONTENT' : 'TEXT_PLAIN',
    messageData,
    messageId: `ms::conv:${CONV}::msg:${seq}`,
    seq,
    dialogId: CONV,
    participantId,
    timeL: T0 + seq * 37_000,
    sentBy,
    audience: 'ALL',
    ...extra,
  };
}
const text = (t: string) => ({ msg: { text: t } });
const file = (name: string, fileType: string, caption = name) => ({
  file: { relativePath: `/v1/AUTH_async-images/42/${name}`, fileType, caption },
});

/** ~60 messages: every kind of participant, long and wrapped text, files, rich content. */
export function longConversation(): Record<string, unknown> {
  const lines = [
    'Hi, I was charged twice for my last order, can you help?',
    'Sorry to hear that! Let me look into your account right away.',
    'The refund of €42.50 will arrive in 3–5 business days.',
    'Line one\nLine two\nLine three after a break',
    '<b>not really bold</b> & <script>alert(1)</script>',
  ];
  const messages: unknown[] = [
    msg(0, 'bot-1', 'Agent', text('Hi! I am the virtual assistant. How can I help you today?')),
    msg(1, 'cons-1', 'Consumer', text('I need to talk to a person about a double charge')),
    msg(2, 'bot-1', 'Agent', {
      richContent: {
        content: JSON.stringify({
          type: 'vertical',
          elements: [
            { type: 'text', text: 'Choose a topic' },
            { type: 'image', url: 'https://img.example.com/banner.png', caption: 'Our banner' },
            {
              type: 'button',
              title: 'Billing',
              click: { actions: [{ type: 'link', uri: 'https://help.example.com/billing' }] },
            },
          ],
        }),
      },
    }),
    msg(3, 'sys-1', 'System', text('Conversation transferred to the Billing skill. Waiting for an agent.')),
    msg(4, 'agent-1', 'Agent', text('Hello Alex, this is Jane from Billing. Let me check.')),
    msg(5, 'cons-1', 'Consumer', text(LONG_TOKEN)),
    msg(6, 'cons-1', 'Consumer', file('screenshot.png', 'PNG', 'screenshot of my bank app.png')),
    msg(7, 'mgr-1', 'Agent', text('Supervisor note: check the second charge against order 77.'), {
      audience: 'AGENTS_AND_MANAGERS',
    }),
    msg(8, 'agent-1', 'Agent', text('I can see two payments of €49.90 on 4 March.')),
    msg(9, 'cons-1', 'Consumer', file('receipt-photo.png', 'PNG', 'receipt photo.png')),
    msg(10, 'cons-1', 'Consumer', file('gone-1234.JPG', 'JPG', 'old receipt')),
    msg(11, 'agent-1', 'Agent', file('refund-form.pdf', 'PDF', 'refund form.pdf')),
    msg(12, 'cons-1', 'Consumer', file('tiny.gif', 'GIF', 'tiny.gif')),
  ];
  for (let i = 13; i < 60; i++) {
    const who =
      i % 3 === 0 ? ['agent-1', 'Agent'] : i % 7 === 0 ? ['bot-1', 'Agent'] : ['cons-1', 'Consumer'];
    messages.push(msg(i, who[0] as string, who[1] as string, text(`${lines[i % lines.length]} (#${i})`)));
  }
  return {
    info: {
      conversationId: CONV,
      brandId: '42',
      startTimeL: T0,
      endTimeL: T0 + 61 * 37_000,
      status: 'CLOSE',
      latestSkillName: 'Billing',
      source: 'APP',
      device: 'MOBILE',
      closeReason: 'AGENT',
    },
    consumerParticipants: [
      { participantId: 'cons-1', firstName: 'Alex', lastName: 'Smith', email: 'alex@example.com' },
    ],
    agentParticipants: [
      {
        agentId: 'bot-1',
        agentFullName: 'FAQ Bot',
        agentLoginName: 'faq.bot',
        role: 'AGENT',
        userType: '2',
        userTypeName: 'Bot',
      },
      { agentId: 'sys-1', agentFullName: 'Routing', role: 'AGENT', userType: '0', userTypeName: 'System' },
      {
        agentId: 'agent-1',
        agentFullName: 'Jane Doe',
        agentLoginName: 'jane.doe',
        role: 'ASSIGNED_AGENT',
        userType: '1',
      },
      {
        agentId: 'mgr-1',
        agentFullName: 'Sam Manager',
        agentLoginName: 'sam',
        role: 'MANAGER',
        userType: '1',
      },
    ],
    transfers: [
      { timeL: T0 + 3 * 37_000 + 1, sourceSkillName: 'Bot', targetSkillName: 'Billing', reason: 'Skill' },
    ],
    summary: { text: 'Double charge refunded.' },
    messageRecords: messages,
  };
}

export const RTL = {
  agentName: 'נועה לוי',
  consumerName: 'عمر الحداد',
  fileName: 'فاتورة الكهرباء.png',
  pdfName: 'عقد التأمين.pdf',
};

/** A conversation in Hebrew and Arabic, with right-to-left names and file names. */
export function rtlConversation(): Record<string, unknown> {
  const id = 'rtl-0000-1111-2222-333344445555';
  const m = (seq: number, pid: string, by: string, data: Record<string, unknown>) => ({
    ...msg(seq, pid, by, data),
    messageId: `ms::conv:${id}::msg:${seq}`,
    dialogId: id,
  });
  return {
    info: {
      conversationId: id,
      brandId: '42',
      startTimeL: T0,
      endTimeL: T0 + 10 * 37_000,
      status: 'CLOSE',
      latestSkillName: 'الدعم العربي',
    },
    consumerParticipants: [
      { participantId: 'c-ar', firstName: 'عمر', lastName: 'الحداد', email: 'omar@example.com' },
    ],
    agentParticipants: [
      {
        agentId: 'a-he',
        agentFullName: RTL.agentName,
        agentLoginName: 'noa.levi',
        role: 'AGENT',
        userType: '1',
      },
    ],
    messageRecords: [
      m(0, 'c-ar', 'Consumer', text('مرحبا، لدي مشكلة في الفاتورة')),
      m(1, 'a-he', 'Agent', text('שלום! אני בודקת את זה עבורך')),
      m(2, 'c-ar', 'Consumer', file(RTL.fileName, 'PNG', RTL.fileName)),
      m(3, 'c-ar', 'Consumer', file('insurance.pdf', 'PDF', RTL.pdfName)),
      m(4, 'a-he', 'Agent', text('תודה, קיבלתי את הקבצים (2 files) ✔')),
      m(5, 'c-ar', 'Consumer', text('شكرا جزيلا على المساعدة 🌹')),
    ],
  };
}
