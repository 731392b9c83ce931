// A local CodeDeploy on 127.0.0.1 speaking the awsJson1_1 protocol the SDK uses: POST /, X-Amz-Target
// CodeDeploy_20141006.<Operation>, errors as HTTP 400 {"__type","message"} (the SDK reads __type first, then
// `code`, then the X-Amzn-ErrorType header; we send the body field and the header). Deployments, faults and
// GetDeployment status progressions are scripted per test; every call is recorded.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Json = Record<string, unknown>;

/** A scripted deployment; dates anywhere inside may be Date objects (sent as epoch seconds, as AWS does). */
export interface ScriptedDeployment {
  /** GetDeployment's deploymentInfo (deploymentId is filled in). */
  info: Json;
  /** Merged over `info` on the 1st, 2nd, … GetDeployment call; the last entry repeats. */
  progression?: Json[];
  /** DeploymentTarget objects for ListDeploymentTargets / BatchGetDeploymentTargets. */
  targets?: Json[];
  /** InstanceSummary objects for ListDeploymentInstances / BatchGetDeploymentInstances. */
  instances?: Json[];
  /** How ListDeploymentTargets answers when `targets` is absent: an error (default) or an empty list. */
  withoutTargets?: 'error' | 'empty';
  /** Answer the list calls with DeploymentNotStartedException. */
  notStarted?: boolean;
}

/** An error answer: for `operation` (or any), the next `times` calls (default: all of them). */
export interface FaultSpec {
  type: string;
  message?: string;
  operation?: string;
  times?: number;
  status?: number;
}

/** One request as received: the operation, its JSON body and who signed it for which region and service. */
export interface RecordedCall {
  operation: string;
  body: Json;
  accessKeyId: string | undefined;
  region: string | undefined;
  service: string | undefined;
}

/** The running server and its scripting handles. */
export interface CodeDeployServer {
  url: string;
  calls: RecordedCall[];
  addDeployment(id: string, deployment: ScriptedDeployment): void;
  fault(spec: FaultSpec): void;
  clearFaults(): void;
  callsTo(operation: string): RecordedCall[];
  close(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const TargetPrefix = 'CodeDeploy_20141006.';
/** The documented maximum for both BatchGet operations. */
const MaxBatch = 25;

/** Start a server on a free loopback port; `pageSize` is how many ids a List call returns per page. */
export async function startCodeDeployServer(options: { pageSize?: number } = {}): Promise<CodeDeployServer> {
  const pageSize = options.pageSize ?? 10;
  const deployments = new Map<string, ScriptedDeployment>();
  const getCounts = new Map<string, number>();
  const faults: Array<FaultSpec & { left: number }> = [];
  const calls: RecordedCall[] = [];

  const handlers: Record<string, (body: Json) => Json> = {
    GetDeployment(body) {
      const [id, d] = findDeployment(body);
      const n = getCounts.get(id) ?? 0;
      getCounts.set(id, n + 1);
      const step =
        d.progression === undefined || d.progression.length === 0
          ? {}
          : d.progression[Math.min(n, d.progression.length - 1)];
      return { deploymentInfo: { ...d.info, ...step, deploymentId: id } };
    },
    ListDeploymentTargets(body) {
      const [id, d] = findDeployment(body);
      if (d.notStarted) throw new ApiError('DeploymentNotStartedException', `The deployment ${id} has not started.`);
      if (d.targets === undefined && d.withoutTargets !== 'empty') {
        throw new ApiError(
          'InvalidDeploymentInstanceTypeException',
          'An instance type was specified for an in-place deployment.',
        );
      }
      const page = paginate((d.targets ?? []).map(targetIdOf), body.nextToken);
      return { targetIds: page.ids, ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }) };
    },
    BatchGetDeploymentTargets(body) {
      const [id, d] = findDeployment(body);
      const ids = requireIdList(body.targetIds, 'DeploymentTargetIdRequiredException');
      if (ids.length > MaxBatch)
        throw new ApiError(
          'DeploymentTargetListSizeExceededException',
          `At most ${MaxBatch} target ids per call, got ${ids.length}`,
        );
      const byId = new Map((d.targets ?? []).map((t) => [targetIdOf(t), t]));
      return {
        deploymentTargets: ids.map((t) => {
          const target = byId.get(t);
          if (target === undefined)
            throw new ApiError('DeploymentTargetDoesNotExistException', `Target ${t} is not part of ${id}`);
          return target;
        }),
      };
    },
    ListDeploymentInstances(body) {
      const [id, d] = findDeployment(body);
      if (d.notStarted) throw new ApiError('DeploymentNotStartedException', `The deployment ${id} has not started.`);
      const page = paginate((d.instances ?? []).map(instanceIdOf), body.nextToken);
      return { instancesList: page.ids, ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }) };
    },
    BatchGetDeploymentInstances(body) {
      const [, d] = findDeployment(body);
      const ids = requireIdList(body.instanceIds, 'InstanceIdRequiredException');
      if (ids.length > MaxBatch)
        throw new ApiError(
          'BatchLimitExceededException',
          `The maximum number of names or IDs allowed for this request (${MaxBatch}) was exceeded.`,
        );
      const byId = new Map((d.instances ?? []).map((s) => [instanceIdOf(s), s]));
      const found = ids.map((i) => byId.get(i)).filter((s) => s !== undefined);
      return { instancesSummary: found };
    },
  };

  function findDeployment(body: Json): [string, ScriptedDeployment] {
    const id = body.deploymentId;
    if (typeof id !== 'string' || id === '')
      throw new ApiError('DeploymentIdRequiredException', 'At least one deployment ID must be specified.');
    if (!/^d-[A-Z0-9]{9}$/.test(id))
      throw new ApiError('InvalidDeploymentIdException', `The deployment ID ${id} is not valid.`);
    const d = deployments.get(id);
    if (d === undefined)
      throw new ApiError('DeploymentDoesNotExistException', `The deployment ${id} could not be found.`);
    return [id, d];
  }

  function paginate(ids: string[], token: unknown): { ids: string[]; nextToken?: string } {
    const start =
      typeof token === 'string' ? Number(Buffer.from(token, 'base64').toString('utf8').replace('offset:', '')) : 0;
    if (!Number.isInteger(start) || start < 0 || start > ids.length)
      throw new ApiError('InvalidNextTokenException', 'The next token was specified in an invalid format.');
    const end = start + pageSize;
    return end < ids.length
      ? { ids: ids.slice(start, end), nextToken: Buffer.from(`offset:${end}`).toString('base64') }
      : { ids: ids.slice(start) };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(TargetPrefix) ? target.slice(TargetPrefix.length) : target;
      let body: Json = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Json;
      } catch {
        // Recorded as an empty body; the handler then answers as AWS does to a missing field.
      }
      calls.push({ operation, body, ...parseAuthorization(req.headers.authorization) });
      try {
        if (req.method !== 'POST' || req.headers['content-type'] !== 'application/x-amz-json-1.1') {
          throw new ApiError(
            'SerializationException',
            `expected POST with application/x-amz-json-1.1, got ${req.method} ${req.headers['content-type']}`,
          );
        }
        if (req.headers.authorization === undefined)
          throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token');
        const fault = faults.find((f) => f.left > 0 && (f.operation === undefined || f.operation === operation));
        if (fault !== undefined) {
          fault.left -= 1;
          throw new ApiError(fault.type, fault.message ?? `${fault.type} (scripted)`, fault.status);
        }
        const handler = handlers[operation];
        if (handler === undefined) throw new ApiError('UnknownOperationException', `unknown operation ${operation}`);
        send(res, 200, handler(body));
      } catch (error) {
        // A bug in a scripted fixture answers as AWS's own internal failure, so the test sees it instead of a hang.
        const e = error instanceof ApiError ? error : new ApiError('InternalFailure', String(error), 500);
        send(res, e.status, { __type: e.type, message: e.message }, e.type);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    addDeployment: (id, deployment) => void deployments.set(id, deployment),
    fault: (spec) => void faults.push({ ...spec, left: spec.times ?? Number.POSITIVE_INFINITY }),
    clearFaults: () => void faults.splice(0),
    callsTo: (operation) => calls.filter((c) => c.operation === operation),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function send(res: http.ServerResponse, status: number, payload: Json, errorType?: string): void {
  const text = JSON.stringify(payload, epochSeconds);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': `req-${Date.now()}`,
    ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
  });
  res.end(text);
}

// awsJson1_1 timestamps are epoch seconds. JSON.stringify calls Date#toJSON before the replacer, so look at the holder.
function epochSeconds(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Date ? raw.getTime() / 1000 : value;
}

function parseAuthorization(header: string | undefined): Pick<RecordedCall, 'accessKeyId' | 'region' | 'service'> {
  const m = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\//.exec(header ?? '');
  return { accessKeyId: m?.[1], region: m?.[2], service: m?.[3] };
}

function requireIdList(value: unknown, missing: string): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new ApiError(missing, 'At least one id must be specified.');
  return value.map(String);
}

function targetIdOf(target: Json): string {
  for (const key of ['instanceTarget', 'ecsTarget', 'lambdaTarget', 'cloudFormationTarget']) {
    const inner = target[key] as Json | undefined;
    if (inner !== undefined) return String(inner.targetId);
  }
  throw new Error('scripted target without a known shape');
}

// ListDeploymentInstances lists bare instance ids; the summaries carry the instance ARN.
function instanceIdOf(summary: Json): string {
  const id = String(summary.instanceId);
  return id.slice(id.lastIndexOf('/') + 1);
}
