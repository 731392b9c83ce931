import { runSystemctl } from './systemctl.ts';

/** A socket unit of the host's listening on a configured port: systemd (PID 1) holds it now, or will at boot. */
export interface BootRival {
  port: number;
  /** The socket unit (`shop.socket`). */
  unit: string;
  /** The units it starts (Triggers=: `shop.service`); an enabled one starts the socket at boot too. */
  triggers: string[];
  /** It listens now (PID 1 holds the port). */
  active: boolean;
  /** Why it takes the port at boot ('' when it does not): "shop.socket is enabled", "shop.service is enabled". */
  atBoot: string;
  /** The command that retires it for good. */
  fix: string;
}

/** One unit's block of `systemctl show`: its properties, each key with every value it printed (Listen= repeats). */
type UnitBlock = Map<string, string[]>;

/** The blocks `systemctl show -p … a b c` prints, one per unit, separated by blank lines. */
export function parseShowBlocks(text: string): UnitBlock[] {
  const blocks: UnitBlock[] = [];
  let block: UnitBlock = new Map();
  for (const line of `${text}\n`.split('\n')) {
    if (line.trim() === '') {
      if (block.size > 0) blocks.push(block);
      block = new Map();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    block.set(key, [...(block.get(key) ?? []), line.slice(eq + 1)]);
  }
  return blocks;
}

/**
 * The TCP ports a socket unit's `Listen=` values name: `127.0.0.1:8082 (Stream)`, `[::]:8082 (Stream)`. Datagram,
 * netlink and file-system sockets take no TCP port.
 */
export function parseListenPorts(values: readonly string[]): number[] {
  const ports: number[] = [];
  for (const value of values) {
    const match = /^(?:.*:)?(\d{1,5}) \(Stream\)$/.exec(value.trim());
    if (match) ports.push(Number(match[1]));
  }
  return ports;
}

/**
 * The socket units among `blocks` (each with Id, Listen, ActiveState, UnitFileState, Triggers) that listen on one of
 * `ports` now or will at boot, given which triggered units are enabled. Pure: the reader below captures the text.
 */
export function judgeBootRivals(
  blocks: readonly UnitBlock[],
  ports: readonly number[],
  enabledUnits: ReadonlySet<string>,
): BootRival[] {
  const rivals: BootRival[] = [];
  for (const block of blocks) {
    const unit = block.get('Id')?.[0] ?? '';
    if (!unit.endsWith('.socket')) continue;
    const listens = parseListenPorts(block.get('Listen') ?? []).filter((p) => ports.includes(p));
    if (listens.length === 0) continue;
    const triggers = (block.get('Triggers')?.[0] ?? '').split(/\s+/).filter(Boolean);
    const active = ['active', 'reloading', 'activating'].includes(block.get('ActiveState')?.[0] ?? '');
    const enabled = (block.get('UnitFileState')?.[0] ?? '').startsWith('enabled');
    const enabledTriggers = triggers.filter((t) => enabledUnits.has(t));
    const why = [
      ...(enabled ? [`${unit} is enabled`] : []),
      ...enabledTriggers.map((t) => `${t} is enabled and starts it`),
    ];
    if (!active && why.length === 0) continue;
    const fix = `systemctl disable --now ${[unit, ...enabledTriggers].join(' ')}`;
    for (const port of new Set(listens)) {
      rivals.push({ port, unit, triggers, active, atBoot: why.join(', '), fix });
    }
  }
  return rivals;
}

/** "socket unit shop.socket takes port 8082 at boot (shop.socket is enabled): run "systemctl disable --now …"" */
export function describeBootRival(rival: BootRival): string {
  return `socket unit ${rival.unit} ${describeRivalTiming(rival)}: run "${rival.fix}"`;
}

/** "listens on port 8082 now and takes it at boot (shop.socket is enabled)" */
export function describeRivalTiming(rival: BootRival): string {
  if (rival.active && rival.atBoot) return `listens on port ${rival.port} now and takes it at boot (${rival.atBoot})`;
  return rival.active ? `listens on port ${rival.port} now` : `takes port ${rival.port} at boot (${rival.atBoot})`;
}

/**
 * The host's socket units that listen on one of `ports` now or will at boot (enabled, or started by an enabled unit),
 * read from systemd: the sockets it has loaded and those enabled on disk, then their Listen= and Triggers=. Empty
 * when systemctl cannot tell (a WARNING would be noise on a host whose systemd does not answer).
 */
export function findBootRivals(ports: readonly number[]): BootRival[] {
  let blocks: UnitBlock[];
  let enabled: Set<string>;
  try {
    const names = listSocketUnits();
    if (names.length === 0) return [];
    const props = ['Id', 'Listen', 'ActiveState', 'UnitFileState', 'Triggers'];
    blocks = parseShowBlocks(runSystemctl(['show', ...props.map((p) => `--property=${p}`), '--', ...names]));
    const candidates = blocks.filter((b) => parseListenPorts(b.get('Listen') ?? []).some((p) => ports.includes(p)));
    const triggered = [...new Set(candidates.flatMap((b) => (b.get('Triggers')?.[0] ?? '').split(/\s+/)))];
    enabled = readEnabled(triggered.filter(Boolean));
  } catch {
    // systemctl failed (no bus, a reexec): nothing is claimed either way; the hooks still check the port itself.
    return [];
  }
  return judgeBootRivals(blocks, ports, enabled);
}

/** The socket units systemd has loaded and those enabled on disk (a stopped one may be on neither list until boot). */
function listSocketUnits(): string[] {
  const loaded = runSystemctl(['list-units', '--type=socket', '--all', '--plain', '--no-legend', '--no-pager']);
  const files = runSystemctl(['list-unit-files', '--type=socket', '--no-legend', '--no-pager']);
  // The unit is the first word ending in .socket: a failed unit's line may start with a bullet.
  const first = (text: string) =>
    text.split('\n').map(
      (line) =>
        line
          .trim()
          .split(/\s+/)
          .find((word) => word.endsWith('.socket')) ?? '',
    );
  // A template (`foo@.socket`) listens on nothing until instantiated, and `systemctl show` refuses its name.
  return [...new Set([...first(loaded), ...first(files)])].filter(
    (name) => name.endsWith('.socket') && !name.includes('@.'),
  );
}

/** Which of `units` are enabled for boot. */
function readEnabled(units: string[]): Set<string> {
  if (units.length === 0) return new Set();
  const blocks = parseShowBlocks(runSystemctl(['show', '--property=Id', '--property=UnitFileState', '--', ...units]));
  return new Set(
    blocks.filter((b) => (b.get('UnitFileState')?.[0] ?? '').startsWith('enabled')).map((b) => b.get('Id')?.[0] ?? ''),
  );
}
