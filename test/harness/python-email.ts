/**
 * Runs Python's own email parser (policy.default) over .eml files through test/harness/python_email_check.py
 * and returns what it found. python3 is on the CI machines; when it is missing the call fails with a clear
 * message instead of skipping anything.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./python_email_check.py', import.meta.url));

export interface PythonEmailReport {
  file: string;
  /** Every defect Python reports on the message, its parts and every header of every part. */
  defects: string[];
  /** Header fields folded with an empty first line. */
  problems: string[];
  from: { name: string; address: string }[];
  to: { name: string; address: string }[];
  subject: string;
  messageId: string;
  contentVersion: string;
  attachments: {
    filename: string | null;
    contentType: string;
    size: number;
    sha256: string;
    contentId: string | null;
    disposition: string | null;
  }[];
}

function run(files: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', [SCRIPT, ...files], { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(
          new Error('python3 is not installed: the Python email parser check needs it (python3 ≥ 3.11)'),
        );
      } else if (err) {
        reject(new Error(`python_email_check.py failed: ${err.message}\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** One report per file, in the order given. */
export async function pythonEmailCheck(files: readonly string[]): Promise<PythonEmailReport[]> {
  const out: PythonEmailReport[] = [];
  for (let i = 0; i < files.length; i += 200) {
    const stdout = await run(files.slice(i, i + 200));
    for (const line of stdout.split('\n')) if (line.trim()) out.push(JSON.parse(line) as PythonEmailReport);
  }
  return out;
}
