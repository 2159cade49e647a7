#!/usr/bin/env node
/**
 * lp-archive: the command-line entry. Each subcommand lives in its own module and is loaded on demand,
 * so `convert` never loads the LivePerson client and `sandbox`/`graph-sandbox` (local-only tooling in
 * dev/) are loaded only when asked for.
 */
const USAGE = `Usage: lp-archive <command> [options]

Commands:
  convert FILE... --out DIR [--users USERS.json] [--address-domain DOMAIN]
                      convert Messaging Interactions records into .eml files
  export --from DATE --to DATE --out DIR
                      fetch every conversation in a range from LivePerson and write .eml files
  sandbox [--port P] [--conversations N] [--seed S] [--fault-rate R] [--latency MS]
                      run a local sandbox of LivePerson's APIs
  graph-sandbox [--port P] [--mirror DIR] [--fault-rate R] [--latency MS]
                      run a local HTTPS sandbox of the Microsoft Graph APIs the mailbox delivery uses

Run 'lp-archive <command> --help' for a command's options.`;

type CommandModule = { run(argv: string[]): Promise<number> };

const commands: Record<string, () => Promise<CommandModule>> = {
  convert: () => import('./convert.js'),
  export: () => import('./export.js'),
  sandbox: () => import('../../dev/sandbox/cli.js'),
  'graph-sandbox': () => import('../../dev/graph-sandbox/cli.js'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`lp-archive: unknown command '${name}'\n\n${USAGE}\n`);
    return 2;
  }
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`lp-archive: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
