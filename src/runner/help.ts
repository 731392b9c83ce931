import { findEvent, type LifecycleEvent } from '../core/events.ts';
import { VERSION } from '../core/version.ts';

const purposes: Record<LifecycleEvent, string> = {
  ApplicationStop: 'frees the target port: stops every process listening on it, SIGKILL after the grace period',
  ApplicationStart: 'frees the target port, starts the app detached and waits until it listens',
  ValidateService: 'proves the new process owns the port, checks health, then switches nginx to it',
};

/** --help text for a hook executable. */
export function hookHelp(event: LifecycleEvent): string {
  const { executable } = findEvent(event);
  return [
    `${executable} — portproof ${event} hook ${VERSION}`,
    `  ${purposes[event]}`,
    '',
    `usage: ${executable} [--config FILE] [--check] [--json]${event === 'ValidateService' ? ' [--port N]' : ''}`,
    '  --check        report both ports (role, owner, health) and change nothing',
    ...(event === 'ValidateService'
      ? ['  --port N       verify the process on port N and switch nginx to it (rollback)']
      : []),
    '  --config FILE  portproof.yml to use (default: beside appspec.yml; or PORTPROOF_CONFIG)',
    '  --json         with --check: one JSON document',
    '  --version      print the version',
    '',
    'exit codes: 0 success, 1 failed verification, 2 bad config or usage, or a state directory others could write',
    '  --check: 0 healthy, 2 preflight, 3 nothing live, 4 unrecorded owner, 5 unhealthy, 6 nginx and state disagree,',
    '  7 nginx not running or not serving the live app, 8 a switch was interrupted (see docs/hooks.md)',
  ].join('\n');
}

/** --version text for a hook executable: portproof's version, the event, and the Node runtime it runs on. */
export function hookVersion(event: LifecycleEvent): string {
  return `portproof ${VERSION} (${event}) node ${process.version} ${process.platform}-${process.arch}`;
}
