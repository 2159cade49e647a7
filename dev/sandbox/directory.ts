/**
 * The sandbox account's people and skills: a fixed Users API directory (~20 users incl. a deleted agent,
 * a disabled agent, bots and a manager) that generated conversations draw their agents from.
 */

export interface SandboxUser {
  id: string;
  loginName: string;
  fullName: string;
  nickname: string;
  email: string;
  employeeId: string;
  deleted: boolean;
  isEnabled: boolean;
  /** 0 system, 1 human, 2 bot (Users API userTypeId). */
  userTypeId: 1 | 2;
  isApiUser: boolean;
  role: 'AGENT' | 'MANAGER';
  skillIds: number[];
}

export interface Skill {
  id: number;
  name: string;
}

export const UNASSIGNED: Skill = { id: -1, name: 'Unassigned' };
export const SKILLS: readonly Skill[] = [
  { id: 2736637412, name: 'Billing' },
  { id: 2736637512, name: 'Technical Support' },
  { id: 2736637612, name: 'Sales' },
  { id: 2736637712, name: 'Retentión & Loyalty' },
  { id: 2736637812, name: 'الدعم العربي' },
];

const human = (
  id: string,
  loginName: string,
  fullName: string,
  nickname: string,
  email: string,
  skillIds: number[],
  extra: Partial<SandboxUser> = {},
): SandboxUser => ({
  id,
  loginName,
  fullName,
  nickname,
  email,
  employeeId: `EMP-${id.slice(-5)}`,
  deleted: false,
  isEnabled: true,
  userTypeId: 1,
  isApiUser: false,
  role: 'AGENT',
  skillIds,
  ...extra,
});

const [BILLING, TECH, SALES, RETENTION, ARABIC] = SKILLS.map((s) => s.id) as [
  number,
  number,
  number,
  number,
  number,
];

export const USERS: readonly SandboxUser[] = [
  human('3677470410', 'jane.doe@brand.example', 'Jane Doe', 'Jane', 'jane.doe@brand.example', [
    BILLING,
    SALES,
  ]),
  human('3677470510', 'omar.haddad', 'عمر الحداد', 'Omar', 'omar.haddad@brand.example', [ARABIC, BILLING]),
  human('3677470610', 'li.wei', '李伟', 'Wei', 'li.wei@brand.example', [TECH]),
  human('3677470710', 'dmitry.ivanov', 'Дмитрий Иванов', 'Dima', 'dmitry.ivanov@brand.example', [
    TECH,
    SALES,
  ]),
  human('3677470810', 'noa.levi', 'נועה לוי', 'Noa', 'noa.levi@brand.example', [RETENTION]),
  human('3677470910', 'zoe.angstrom', 'Zoë Ångström-O’Neill', 'Zoë', 'zoe.angstrom@brand.example', [BILLING]),
  human('3677471010', 'yuki.tanaka', '田中 由紀', 'Yuki', 'yuki.tanaka@brand.example', [TECH, RETENTION]),
  human('3677471110', 'carlos.garcia', 'Carlos García Núñez', 'Carlos', 'carlos.garcia@brand.example', [
    SALES,
  ]),
  human('3677471210', 'priya.sharma', 'प्रिया शर्मा', 'Priya', 'priya.sharma@brand.example', [BILLING, TECH]),
  human('3677471310', 'kim.minjun', '김민준', 'Minjun', 'kim.minjun@brand.example', [SALES, RETENTION]),
  human('3677471410', 'eleni.papadopoulou', 'Ελένη Παπαδοπούλου', 'Eleni', 'eleni.p@brand.example', [
    BILLING,
  ]),
  human('3677471510', 'tom.oconnor', 'Tom "TJ" O\'Connor', 'TJ', 'tom.oconnor@brand.example', [TECH]),
  human('3677471610', 'fatima.zahra', 'Fatima Zahra', 'Fatima', 'fatima.zahra@brand.example', [ARABIC]),
  human('3677471710', 'leaver', 'Former Agent', 'Gone', 'former.agent@brand.example', [BILLING, TECH], {
    deleted: true,
    isEnabled: false,
  }),
  human('3677471810', 'paused.agent', 'Paused Agent', 'Paused', 'paused.agent@brand.example', [SALES], {
    isEnabled: false,
  }),
  human('3673156810', 'sam.manager', 'Sam Manager', 'Sam', 'sam.manager@brand.example', [], {
    role: 'MANAGER',
  }),
  human('3673156910', 'ana.supervisor', 'Ana Souza', 'Ana', 'ana.souza@brand.example', [], {
    role: 'MANAGER',
  }),
  human('3600000010', 'routing.bot', 'Routing Bot', 'Assistant', 'routing.bot@bots.brand.example', [], {
    userTypeId: 2,
    isApiUser: true,
    employeeId: '',
  }),
  human('3600000110', 'faq.bot', 'FAQ Bot 🤖', 'FAQ', 'undefined', [], {
    userTypeId: 2,
    isApiUser: true,
    employeeId: '',
  }),
  human('3600000210', 'archiver.api', 'Archiver API user', 'api', 'it-ops@brand.example', [], {
    isApiUser: true,
  }),
];

export const AGENTS = USERS.filter((u) => u.userTypeId === 1 && u.role === 'AGENT' && u.skillIds.length > 0);
export const MANAGERS = USERS.filter((u) => u.role === 'MANAGER');
export const BOTS = USERS.filter((u) => u.userTypeId === 2);

export function userById(id: string): SandboxUser | undefined {
  return USERS.find((u) => u.id === id);
}

/** The Users API entity (v=6.0 shape) for one user. */
export function userEntity(u: SandboxUser, revision: number): Record<string, unknown> {
  return {
    id: Number(u.id),
    pid: `pid-${u.id}`,
    deleted: u.deleted,
    loginName: u.loginName,
    fullName: u.fullName,
    nickname: u.nickname,
    isEnabled: u.isEnabled,
    maxChats: u.userTypeId === 2 ? 100 : 4,
    maxAsyncChats: u.userTypeId === 2 ? 1000 : 10,
    skillIds: u.skillIds,
    email: u.email,
    employeeId: u.employeeId,
    memberOf: { agentGroupId: -1, assignmentDate: '2023-01-10 08:00:00' },
    managerOf: u.role === 'MANAGER' ? [{ agentGroupId: -1, assignmentDate: '2023-01-10 08:00:00' }] : [],
    permissionGroups: [u.role === 'MANAGER' ? '2' : '1'],
    profileIds: [u.role === 'MANAGER' ? 2359273712 : 2359273612],
    description: '',
    mobileNumber: '',
    pictureUrl: '',
    changePwdNextLogin: false,
    dateUpdated: `2024-01-${String((revision % 27) + 1).padStart(2, '0')} 10:00:00`,
    lastPwdChangeDate: '2023-06-01 09:00:00',
    isApiUser: u.isApiUser,
    userTypeId: u.userTypeId,
    allowedAppKeys: u.isApiUser ? 'sandbox-app-key' : '',
    lobIds: [],
  };
}
