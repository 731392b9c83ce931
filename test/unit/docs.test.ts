import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RepoRoot } from '../../build/paths.ts';
import { describeIssue } from '../../src/core/config/describe-issue.ts';
import { configSchema } from '../../src/core/config/schema.ts';
import { HookEntries } from '../../src/core/events.ts';

// Docs that stay true: every yaml snippet in README.md and docs/*.md parsed with the schema (or as an appspec), every
// portproof command checked against its --help, every npm script named exists, every relative link resolves.

const Docs = ['README.md', ...fs.readdirSync(path.join(RepoRoot, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);

interface Block {
  doc: string;
  lang: string;
  text: string;
}

/** The fenced blocks of a markdown file, indented ones (in lists) dedented. */
function readBlocks(doc: string): Block[] {
  const text = fs.readFileSync(path.join(RepoRoot, doc), 'utf8');
  return [...text.matchAll(/^( *)```(\w+)\n([\s\S]*?)^\1```/gm)].map((m) => ({
    doc,
    lang: m[2]!,
    text: m[3]!
      .split('\n')
      .map((line) => line.slice(m[1]!.length))
      .join('\n'),
  }));
}

const blocks = Docs.flatMap(readBlocks);

/** What a snippet leaves out to stay short, filled in so the schema judges what it does say. */
const Minimal = { app: { name: 'x', command: ['x'] }, ports: [8080] };

/** The schema's problems with a config snippet, but for a CA file that exists on the host only. */
function configProblems(doc: Record<string, unknown>): string[] {
  const whole = 'app' in doc ? doc : { ...Minimal, ...doc };
  const parsed = configSchema.safeParse(whole, { reportInput: true });
  if (parsed.success) return [];
  return parsed.error.issues.filter((i) => i.path.join('.') !== 'health.tls.ca').map(describeIssue);
}

/** The commands of a shell block: continuations joined, comments dropped, `&&` chains split. */
function readCommands(text: string): string[] {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .flatMap((line) => line.split(/\s*&&\s*/))
    .filter((line) => line !== '');
}

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(RepoRoot, 'bin/portproof.js'), ...args], { encoding: 'utf8' });

const helps = new Map<string, string>();
/** `portproof COMMAND --help` (hooks: the hook's own), run once per command; `portproof --version` run as written. */
function helpOf(command: string): string {
  if (!helps.has(command)) {
    const run = command.startsWith('-') ? cli(command) : cli(command, '--help');
    expect(run.status, `portproof ${command} --help: ${run.stderr}`).toBe(0);
    helps.set(command, run.stdout);
  }
  return helps.get(command)!;
}

/** The subcommand and flags of a command line that runs portproof, or null for any other program. */
function readPortproofCommand(line: string): { command: string; flags: string[] } | null {
  const words = line.split(/\s+/).filter((w) => !w.startsWith('$(') && w !== 'sudo');
  let rest: string[];
  if (words[0] === 'portproof') rest = words.slice(1);
  else if (words[0] === 'node' && words[1] === 'bin/portproof.js') rest = words.slice(2);
  else {
    const hook = HookEntries.find((name) => words[0]?.endsWith(`hooks/${name}`));
    if (hook === undefined || words[0]!.includes('dist/')) return null;
    rest = [hook, ...words.slice(1)];
  }
  // --help and --version every command answers (test/build/cli-manners.test.ts): the other flags are checked.
  const flags = rest
    .slice(1)
    .filter((w) => /^--[a-z]/.test(w) && w !== '--help' && w !== '--version')
    .map((w) => w.split('=')[0]!);
  return { command: rest[0] ?? '', flags };
}

describe('docs', () => {
  const yamlBlocks = blocks.filter((b) => b.lang === 'yaml');
  const shBlocks = blocks.filter((b) => b.lang === 'sh');

  it('hold yaml and shell snippets to check', () => {
    expect(yamlBlocks.length).toBeGreaterThanOrEqual(5);
    expect(shBlocks.length).toBeGreaterThanOrEqual(10);
  });

  it('every yaml snippet is a config the schema accepts, or an appspec naming the hooks within its limits', () => {
    for (const block of yamlBlocks) {
      const doc = parse(block.text) as Record<string, unknown>;
      const where = `${block.doc}: ${block.text.split('\n')[0]}`;
      if ('hooks' in doc) {
        const hooks = doc.hooks as Record<string, { location: string; timeout: number }[]>;
        for (const [event, [entry]] of Object.entries(hooks)) {
          expect(
            HookEntries.map((name) => `hooks/${name}`),
            where,
          ).toContain(entry!.location);
          expect(entry!.timeout, `${where}: ${event}`).toBeLessThanOrEqual(3600);
        }
      } else {
        expect(configProblems(doc), where).toEqual([]);
      }
    }
  });

  it("every portproof command's subcommand and flags are in its --help; every npm script exists", () => {
    const scripts = JSON.parse(fs.readFileSync(path.join(RepoRoot, 'package.json'), 'utf8')).scripts;
    let checked = 0;
    for (const block of shBlocks) {
      for (const line of readCommands(block.text)) {
        const npm = /^npm (?:run (\S+)|(start|test))/.exec(line);
        if (npm) expect(Object.keys(scripts), `${block.doc}: ${line}`).toContain(npm[1] ?? npm[2]);
        const run = readPortproofCommand(line);
        if (run === null) continue;
        const help = helpOf(run.command);
        for (const flag of run.flags) expect(help, `${block.doc}: ${line}`).toContain(flag);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  it('the portproof commands quoted inline (`portproof init --help`, `hooks/validate --check`) exist too', () => {
    for (const doc of Docs) {
      const text = fs.readFileSync(path.join(RepoRoot, doc), 'utf8');
      for (const [, line] of text.matchAll(/`((?:portproof|hooks\/(?:stop|start|validate)) [^`]*)`/g)) {
        const run = readPortproofCommand(line!);
        if (run === null || !/^[a-z]+$/.test(run.command)) continue;
        const help = helpOf(run.command);
        for (const flag of run.flags) expect(help, `${doc}: ${line}`).toContain(flag);
      }
    }
  });

  it('every relative link resolves', () => {
    const broken: string[] = [];
    for (const doc of Docs) {
      const text = fs.readFileSync(path.join(RepoRoot, doc), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(?:[a-z]+:|#)/.test(target!)) continue;
        const file = path.resolve(path.dirname(path.join(RepoRoot, doc)), target!.split('#')[0]!);
        if (!fs.existsSync(file)) broken.push(`${doc}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
