/**
 * Text pools for generated conversations. Deliberately awkward for an e-mail writer: many scripts
 * (RTL Arabic/Hebrew, CJK, Cyrillic, Greek, Devanagari), emoji incl. ZWJ sequences, MIME-ish and
 * mbox-ish lines, HTML-looking text, very long words and lines, CR/LF inside one message.
 */

export const CONSUMER_OPENERS = [
  'Hi, I was double charged this month',
  'Hello, my internet has been down since this morning',
  'مرحبا، لدي مشكلة في الفاتورة',
  'שלום, אני רוצה לבטל את המנוי שלי',
  '你好，我的订单还没有到',
  'こんにちは、パスワードをリセットできません',
  'Здравствуйте! Не могу войти в личный кабинет',
  'Γεια σας, η κάρτα μου απορρίφθηκε',
  'नमस्ते, मेरा रिफंड अभी तक नहीं आया',
  '안녕하세요, 요금제를 변경하고 싶어요',
  'Hey 👋 quick question about my plan 📱',
  'Bonjour, je voudrais changer mon adresse de facturation',
];

export const CONSUMER_LINES = [
  'Thanks, that helps.',
  'My account number is 55-1234-9876.',
  'From my side it still shows the old amount.',
  '.',
  'Can you check again? 🙏🏽',
  'Line one\nLine two\r\nLine three after CRLF',
  '<b>not really bold</b> & <script>alert(1)</script>',
  '=?utf-8?B?SGVsbG8=?= is not an encoded word here',
  'Subject: this line only looks like a header',
  'شكرا جزيلا على المساعدة 🌹',
  'תודה רבה! זה עבד',
  '谢谢你的帮助，问题解决了。',
  'ありがとうございます！助かりました。',
  'Спасибо, всё работает 👍',
  'Ευχαριστώ πολύ!',
  '👨‍👩‍👧‍👦 family plan please — 3 lines + 1 tablet',
  `Very long message: ${'lorem ipsum dolor sit amet '.repeat(40).trim()}`,
  `Supercalifragilistic${'x'.repeat(300)}`,
  'Mixed: order #A-17 for مستخدم (user) — 注文 ✔',
  'Tabs\tand  double  spaces  kept',
];

export const AGENT_LINES = [
  'Sorry about that - let me check.',
  'I can see the duplicate charge; I have requested a refund.',
  'Could you confirm the e-mail address on the account?',
  'أنا آسف للإزعاج، سأتحقق من ذلك الآن',
  'אני בודקת את זה עבורך',
  '我已经为您升级了这个问题。',
  'すぐに確認いたします。',
  'Сейчас проверю, минутку.',
  'The refund of €42.50 will arrive in 3–5 business days.',
  'Is there anything else I can help you with today? 😊',
  'Please do not share your full card number here.',
];

export const BOT_LINES = [
  'Hi! I am the virtual assistant. How can I help?',
  'Let me connect you with a specialist.',
  'I found this article that may help: https://help.brand.example/billing?ref=chat&x=1',
];

export const PRIVATE_LINES = [
  'Manager: refund approved',
  'Customer is VIP, please prioritise',
  'Internal: escalate to tier 2 if this repeats',
  'ملاحظة داخلية: العميل غاضب',
];

export const SUMMARIES = [
  'Duplicate charge refunded',
  'Password reset, customer confirmed access',
  'Cancellation request; retention offer declined',
  'Order delayed by courier; compensation voucher issued',
  'تم حل مشكلة الفاتورة',
  'Техническая проблема передана во второй уровень',
];

export const FIRST_NAMES = [
  'Alex',
  'María',
  'Ahmed',
  'Yael',
  'Wang',
  'Sakura',
  'Olga',
  'Nikos',
  'Ravi',
  'Ji-woo',
];
export const LAST_NAMES = [
  'Smith',
  'Fernández',
  'Al-Masri',
  'Cohen',
  'Fang',
  'Sato',
  'Petrova',
  'Georgiou',
  'Patel',
];

export const CAPTIONS: Record<string, readonly string[]> = {
  PNG: ['statement.png', 'screenshot 2024-03-04.png', 'スクリーンショット.png'],
  JPG: ['photo.jpg', 'router lights.jpg', 'صورة.jpg'],
  GIF: ['error-animation.gif'],
  PDF: ['invoice.pdf', 'Счёт-фактура №17.pdf', 'contract (signed).pdf'],
  TXT: ['logs.txt', 'notes.txt'],
};

export const SURVEY_QUESTIONS = [
  { questionId: 'q1', question: 'Was your issue resolved?', questionType: 'fcr', answers: ['Yes', 'No'] },
  {
    questionId: 'q2',
    question: 'How would you rate our service? (1-5)',
    questionType: 'csat',
    answers: ['5', '4', '3', '2', '1'],
  },
  {
    questionId: 'q3',
    question: 'Anything else you would like to tell us?',
    questionType: 'custom',
    answers: ['Great help, thanks!', 'ممتاز', 'Слишком долго ждал', '👍'],
  },
];
