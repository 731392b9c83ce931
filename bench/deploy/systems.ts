import fs from 'node:fs';
import path from 'node:path';
import { findEvent, type LifecycleEvent } from '../../src/core/events.ts';
import { nginxSection, type TestNginx } from '../../src/lab/nginx.ts';
import { writeRevision } from '../../src/lab/revision.ts';
import { agentEnv, runHookProcess } from '../../src/lab/agent.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const FixtureApp = path.join(repo, 'test/fixtures/app.mjs');

/** One deployment's app: its version and how slowly it starts and stops. */
export interface AppSpec {
  version: string;
  shutdownMs: number;
  startMs: number;
  runId: string;
}

/** A way to deploy: three hooks run in CodeDeploy's order, each returning its exit code. */
export interface DeploySystem {
  name: string;
  hook(event: LifecycleEvent, app: AppSpec, previous: AppSpec | null): Promise<number>;
}

/** The fixture app's flags for a spec; --bench-run tags every process of a run so teardown finds them all. */
export function appFlags(app: AppSpec): string[] {
  return [
    `--version-tag=${app.version}`,
    `--stop-delay=${app.shutdownMs}`,
    `--start-delay=${app.startMs}`,
    `--bench-run=${app.runId}`,
  ];
}

/** A hook run as the CodeDeploy agent runs it (pipes, waiting for both to close); its exit code. */
async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return (await runHookProcess(argv, [], env)).code ?? 1;
}

function codeDeployEnv(event: LifecycleEvent, app: AppSpec): NodeJS.ProcessEnv {
  const deploymentId = `d-${app.runId.slice(0, 4).toUpperCase()}${app.version.toUpperCase()}`;
  return agentEnv({ event, deploymentId, applicationName: 'bench', groupName: 'bench', groupId: 'bench' });
}

/** portproof's compiled hooks, each revision with its own portproof.yml; ApplicationStop runs from the previous one. */
export function portproofSystem(nginx: TestNginx, ports: number[], workDir: string): DeploySystem {
  const revisionFor = (app: AppSpec) => {
    const dir = path.join(workDir, `revision-${app.version}`);
    if (!fs.existsSync(dir)) {
      writeRevision(dir, {
        config: {
          app: { name: 'bench', command: [process.execPath, FixtureApp, '--port={port}', ...appFlags(app)] },
          ports,
          health: {
            url: 'http://127.0.0.1:{port}/actuator/health',
            expectBody: '"status":"UP"',
            interval: '100ms',
            timeout: '60s',
          },
          stop: { grace: '60s' },
          start: { timeout: '60s' },
          nginx: nginxSection(nginx),
          stateDir: path.join(workDir, 'state'),
        },
      });
    }
    return dir;
  };
  return {
    name: 'portproof',
    hook: (event, app, previous) => {
      // CodeDeploy skips ApplicationStop on a first deployment and runs it from the last successful revision.
      const from = event === 'ApplicationStop' ? (previous ?? app) : app;
      return run([path.join(repo, findEvent(event).executable)], {
        ...codeDeployEnv(event, app),
        PORTPROOF_BUNDLE_ROOT: revisionFor(from),
      });
    },
  };
}

/** The widely copied shell recipe (bench/baseline), configured through its environment. */
export function baselineSystem(nginx: TestNginx, ports: number[], workDir: string): DeploySystem {
  return {
    name: 'shell recipe',
    hook: (event, app) =>
      run(['bash', path.join(repo, 'bench/baseline', `${findEvent(event).entry}.sh`)], {
        ...codeDeployEnv(event, app),
        INCLUDE: nginx.includePath,
        PORTS: ports.join(' '),
        APP_CMD: [process.execPath, FixtureApp, ...appFlags(app)].join(' '),
        APP_DIR: workDir,
        NGINX_ARGS: nginx.reloadCommand.slice(1, -2).join(' '),
        PATH: `${path.dirname(nginx.nginxBin)}:${process.env.PATH}`,
      }),
  };
}
