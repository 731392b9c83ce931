// npm run runtime:update -- 24.x.y [--dry-run]: move the pinned Node runtime the hooks are built on to another
// version from the npm registry, rewriting build/runtimes.json (version, and sha512 integrity for each arch).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Arches, RepoRoot, type Arch } from './paths.ts';

const PinsFile = path.join(RepoRoot, 'build/runtimes.json');
/** The design card builds on Node 24; another major is a deliberate change, not a routine update. */
const Major = 24;

/** The pins for a version, as the registry publishes them: node-linux-<arch>@<version>'s dist.integrity. */
export function fetchPins(version: string): { version: string; integrity: Record<Arch, string> } {
  const integrity = {} as Record<Arch, string>;
  for (const arch of Arches) {
    let out: string;
    try {
      out = execFileSync('npm', ['view', `node-linux-${arch}@${version}`, 'dist.integrity', '--json'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? '');
      const reason = /E404|No match/.test(stderr) ? 'not on the npm registry' : stderr.trim().split('\n')[0];
      throw new Error(`node-linux-${arch}@${version}: ${reason}`);
    }
    // npm view prints nothing for a version that does not exist.
    if (out.trim() === '') throw new Error(`node-linux-${arch}@${version}: not on the npm registry`);
    const value = JSON.parse(out) as unknown;
    if (typeof value !== 'string' || !value.startsWith('sha512-'))
      throw new Error(`node-linux-${arch}@${version}: no sha512 integrity in the registry`);
    integrity[arch] = value;
  }
  return { version, integrity };
}

function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'dry-run': { type: 'boolean', default: false } },
    });
  } catch (error) {
    console.error(`runtime:update: ${(error as Error).message.split('\n')[0]}`);
    return 2;
  }
  const [version, ...extra] = parsed.positionals;
  if (!version || extra.length > 0 || !new RegExp(`^${Major}\\.\\d+\\.\\d+$`).test(version)) {
    console.error(
      `runtime:update: give one exact version ${Major}.x.y (npm run runtime:update -- ${Major}.x.y [--dry-run])`,
    );
    return 2;
  }
  const current = JSON.parse(fs.readFileSync(PinsFile, 'utf8')) as { version: string };
  let pins;
  try {
    pins = fetchPins(version);
  } catch (error) {
    console.error(`runtime:update: ${(error as Error).message}`);
    return 1;
  }
  const text = `${JSON.stringify(pins, null, 2)}\n`;
  if (parsed.values['dry-run']) {
    process.stdout.write(text);
    console.log(`(dry run: build/runtimes.json pins ${current.version}, left as it is)`);
    return 0;
  }
  const temp = `${PinsFile}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, PinsFile);
  console.log(`build/runtimes.json: ${current.version} → ${version}. Next: npm run build && npm test, then commit.`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
