import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { buildConfigJsonSchema } from '../../core/config/json-schema.ts';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { describeHostChanges, renderInitFiles, type InitAnswers } from '../../init/render.ts';
import { splitCommand } from '../../init/split-command.ts';
import { describeArgsError } from '../dispatch.ts';

/** Debian's and Ubuntu's own site, which claims port 80 as `default_server` until it is removed. */
const DebianDefaultSite = '/etc/nginx/sites-enabled/default';

/** The flags `portproof init` takes (its --help names each). */
export const InitOptions = {
  layout: { type: 'string' },
  command: { type: 'string' },
  user: { type: 'string' },
  health: { type: 'string' },
  name: { type: 'string' },
  ports: { type: 'string' },
  include: { type: 'string' },
  url: { type: 'string' },
  dir: { type: 'string' },
  force: { type: 'boolean', default: false },
} as const;

type Values = {
  [K in keyof typeof InitOptions]?: (typeof InitOptions)[K]['type'] extends 'boolean' ? boolean : string;
};

/** `portproof init`: write portproof.yml, appspec.yml and the nginx site from flags, asking for the rest in a tty. */
export async function run(argv: string[]): Promise<number> {
  let values: Values;
  try {
    ({ values } = parseArgs({ args: argv, options: InitOptions }));
  } catch (error) {
    return fail(`${describeArgsError(error)} (see --help)`);
  }
  const dir = path.resolve(values.dir ?? '.');
  let answers: InitAnswers;
  try {
    answers = await collectAnswers(values, path.basename(dir));
  } catch (error) {
    return fail((error as Error).message);
  }
  const schema = `${JSON.stringify(buildConfigJsonSchema(), null, 2)}\n`;
  const files = renderInitFiles(answers, schema);
  const existing = files.filter((f) => fs.existsSync(path.join(dir, f.name))).map((f) => f.name);
  if (existing.length > 0 && !values.force) {
    const exist = existing.length === 1 ? 'exists' : 'exist';
    return fail(`${existing.join(', ')} already ${exist} in ${dir}: nothing written (--force replaces)`);
  }
  for (const file of files) {
    const to = path.join(dir, file.name);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    writeFileAtomic(to, file.text);
    console.log(`wrote ${path.relative(process.cwd(), to) || to}${file.hostPath ? ` (for ${file.hostPath})` : ''}`);
  }
  for (const line of describeHostChanges(answers, fs.existsSync(DebianDefaultSite))) console.log(line);
  console.log(`next: portproof bundle --out rev YOUR_FILES  (in ${dir})`);
  return 0;
}

/** The answers from flags; what they leave out is asked for in a terminal, and is an error anywhere else. */
async function collectAnswers(values: Values, dirName: string): Promise<InitAnswers> {
  const ask = process.stdin.isTTY ? openPrompt() : null;
  try {
    const pick = async (given: string | undefined, question: string, fallback?: string): Promise<string> => {
      if (given !== undefined) return given;
      if (ask) return (await ask(question, fallback)) || fallback || '';
      if (fallback !== undefined) return fallback;
      throw new Error(`${question.toLowerCase()}: pass it as a flag (see --help); there is no terminal to ask in`);
    };
    const layout = await pick(values.layout, 'Layout (blue-green or in-place)', 'blue-green');
    if (layout !== 'blue-green' && layout !== 'in-place')
      throw new Error(`--layout ${layout}: use blue-green or in-place`);
    const command = splitCommand(await pick(values.command, '--command: the app and its arguments'));
    if (command.length === 0 || command[0] === '') {
      throw new Error('--command: name the program to run, like "java -jar app.jar"');
    }
    if (needsPortArgument(command)) {
      // Spring Boot reads its port from --server.port (or SERVER_PORT), not from PORT: without it both ports collide.
      const add = ask
        ? await ask('Spring Boot ignores PORT: add --server.port={port} to the command? (y/n)', 'y')
        : 'y';
      if (!/^n/i.test(add)) {
        command.push('--server.port={port}');
        console.log('added --server.port={port} to app.command: Spring Boot listens where it says, not on PORT');
      }
    }
    const user = (await pick(values.user, 'User the app runs as (empty: root)', '')) || undefined;
    const healthPath = await pick(values.health, 'Health path', '/health');
    if (!healthPath.startsWith('/')) throw new Error(`--health ${healthPath}: a path starting with /, like /health`);
    const name = values.name ?? dirName.replace(/[^A-Za-z0-9._-]/g, '-');
    const ports = parsePorts(values.ports ?? (layout === 'blue-green' ? '8081,8082' : '8080'), layout);
    const include = values.include ?? `/etc/nginx/conf.d/${name}-upstream.inc`;
    if (!path.isAbsolute(include)) throw new Error(`--include ${include}: an absolute path on the host`);
    const nginxUrl =
      layout === 'blue-green'
        ? checkUrl(await pick(values.url, 'URL through nginx that reaches the app', `http://127.0.0.1${healthPath}`))
        : undefined;
    return { name, layout, command, user, healthPath, ports, include, nginxUrl };
  } finally {
    ask?.close();
  }
}

/** A `java … -jar app.jar` command that names no {port}: the app would not listen where portproof waits. */
function needsPortArgument(command: string[]): boolean {
  const java = path.basename(command[0]!) === 'java' && command.includes('-jar');
  return java && !command.some((arg) => arg.includes('{port}'));
}

/** nginx.url: an http(s) URL the host's nginx answers, probed after each switch. */
function checkUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--url ${text}: a URL through nginx, like http://127.0.0.1/health`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--url ${text}: http or https`);
  return text;
}

function parsePorts(text: string, layout: string): number[] {
  const ports = text.split(',').map((p) => (/^\d{1,5}$/.test(p.trim()) ? Number(p) : NaN));
  const count = layout === 'blue-green' ? 2 : 1;
  if (ports.length !== count || ports.some((p) => !(p >= 1 && p <= 65535)) || new Set(ports).size !== count) {
    throw new Error(`--ports ${text}: ${layout} needs ${count === 2 ? 'two different ports, like 8081,8082' : 'one'}`);
  }
  return ports;
}

function openPrompt(): ((question: string, fallback?: string) => Promise<string>) & { close(): void } {
  const rl = createInterface({ input: process.stdin, terminal: false });
  // Lines typed (or pasted) ahead of a question wait in the iterator's queue rather than being lost.
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (question: string, fallback?: string) => {
    process.stdout.write(`${question}${fallback ? ` [${fallback}]` : ''}: `);
    const line = await lines.next();
    if (line.done) throw new Error(`no answer to "${question}": the input ended`);
    return String(line.value).trim();
  };
  return Object.assign(ask, { close: () => rl.close() });
}

function fail(message: string): number {
  console.error(`portproof init: ${message}`);
  return 2;
}
