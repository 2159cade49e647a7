/**
 * Untrusted text (conversation IDs, file names, reasons, LivePerson's error bodies) made safe to print on a
 * terminal: control characters (C0, DEL, C1, so no escape sequence), line and paragraph separators,
 * bidirectional overrides and lone surrogates are shown as visible escapes (`\x1b`, `\u202e`), so a
 * printed line is exactly one line and says what the data holds. Everything else is printed as it is.
 */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
