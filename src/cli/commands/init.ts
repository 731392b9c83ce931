import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { buildConfigJsonSchema } from '../../core/config/json-schema.ts';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { describeHostChanges, renderInitFiles, type InitAnswers } from '../../init/render.ts';
import { describeArgsError } from '../dispatch.ts';

const options = {
  layout: { type: 'string' },
  command: { type: 'string' },
  user: { type: 'string' },
  health: { type: 'string' },
  name: { type: 'string' },
  ports: { type: 'string' },
  include: { type: 'string' },
  dir: { type: 'string' },
  force: { type: 'boolean', default: false },
} as const;

type Values = { [K in keyof typeof options]?: (typeof options)[K]['type'] extends 'boolean' ? boolean : string };

/** `portproof init`: write portproof.yml, appspec.yml and the nginx site from flags, asking for the rest in a tty. */
export async function run(argv: string[]): Promise<number> {
  let values: Values;
  try {
    ({ values } = parseArgs({ args: argv, options }));
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
  for (const line of describeHostChanges(answers)) console.log(line);
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
    const command = (await pick(values.command, '--command: the app and its arguments')).trim().split(/\s+/);
    if (command[0] === '') throw new Error('--command: name the program to run, like "java -jar app.jar"');
    const user = (await pick(values.user, 'User the app runs as (empty: root)', '')) || undefined;
    const healthPath = await pick(values.health, 'Health path', '/health');
    if (!healthPath.startsWith('/')) throw new Error(`--health ${healthPath}: a path starting with /, like /health`);
    const name = values.name ?? dirName.replace(/[^A-Za-z0-9._-]/g, '-');
    const ports = parsePorts(values.ports ?? (layout === 'blue-green' ? '8081,8082' : '8080'), layout);
    const include = values.include ?? `/etc/nginx/conf.d/${name}-service-url.inc`;
    if (!path.isAbsolute(include)) throw new Error(`--include ${include}: an absolute path on the host`);
    return { name, layout, command, user, healthPath, ports, include };
  } finally {
    ask?.close();
  }
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
