// The one table of CodeDeploy lifecycle events portproof implements: the build, the bundle, --help, the lab, the
// tests and the benches all read it.

/** The lifecycle events portproof implements, each its own executable. */
export type LifecycleEvent = 'ApplicationStop' | 'ApplicationStart' | 'ValidateService';

/** A hook's entry name: src/hooks/<entry>.ts, the executable hooks/<entry>, the CLI verb `portproof <entry>`. */
export type HookEntry = 'stop' | 'start' | 'validate';

/** One lifecycle event and where it lives. */
export interface EventEntry {
  event: LifecycleEvent;
  entry: HookEntry;
  /** Relative to the bundle root, as appspec.yml names it. */
  executable: `hooks/${HookEntry}`;
}

/** The events in the order CodeDeploy runs them. */
export const LifecycleEvents: readonly EventEntry[] = [
  { event: 'ApplicationStop', entry: 'stop', executable: 'hooks/stop' },
  { event: 'ApplicationStart', entry: 'start', executable: 'hooks/start' },
  { event: 'ValidateService', entry: 'validate', executable: 'hooks/validate' },
];

/** The hook entry names, in CodeDeploy's order. */
export const HookEntries: readonly HookEntry[] = LifecycleEvents.map((e) => e.entry);

/** The table row of an event. */
export function findEvent(event: LifecycleEvent): EventEntry {
  return LifecycleEvents.find((e) => e.event === event)!;
}

/** The table row of an entry name. */
export function findEntry(entry: HookEntry): EventEntry {
  return LifecycleEvents.find((e) => e.entry === entry)!;
}
