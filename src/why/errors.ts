// Every expected way `portproof why` can fail, as one line a person can act on (no stack traces).

/** The IAM actions `portproof why` calls; an access-denied message lists them all. */
export const RequiredActions = [
  'codedeploy:GetDeployment',
  'codedeploy:ListDeploymentTargets',
  'codedeploy:BatchGetDeploymentTargets',
  'codedeploy:ListDeploymentInstances',
  'codedeploy:BatchGetDeploymentInstances',
] as const;

/** `portproof why` exits 2 on a usage error and 3 when it could not ask (credentials, region, network, AWS said no). */
export const CouldNotAsk = 3;

/** A failure of the `why` command: its message is the one line printed, exitCode 2 for usage, 3 otherwise. */
export class WhyError extends Error {
  override readonly name = 'WhyError';
  readonly exitCode: 2 | 3;

  constructor(message: string, exitCode: 2 | 3 = CouldNotAsk, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** What was being done when a call failed: named in the message. */
export interface CallContext {
  operation: string;
  deploymentId: string;
  /** Where the request went, as recorded by the client; absent when no request was sent. */
  endpoint?: string | undefined;
  region?: string | undefined;
}

const NetworkCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Turn whatever the SDK threw into a one-line WhyError. */
export function explainCodeDeployError(error: unknown, context: CallContext): WhyError {
  if (error instanceof WhyError) return error;
  const name = readString(error, 'name') ?? 'Error';
  const message = firstLine(readString(error, 'message') ?? String(error));
  const code = readString(error, 'code');
  const attempts = readAttempts(error);
  const { operation, deploymentId } = context;
  const options = { cause: error };
  if (name === 'ThrottlingException') {
    return new WhyError(
      `CodeDeploy throttled ${operation} for ${deploymentId} (ThrottlingException) after ` +
        `${plural(attempts ?? 1, 'attempt')}; wait a minute and run it again`,
      CouldNotAsk,
      options,
    );
  }
  if (name === 'AccessDeniedException') {
    return new WhyError(
      `access denied to codedeploy:${operation} for ${deploymentId}: the credentials or role in use need ` +
        `${RequiredActions.join(', ')} (AWS: ${message})`,
      CouldNotAsk,
      options,
    );
  }
  if (name === 'DeploymentDoesNotExistException') {
    return new WhyError(
      `deployment ${deploymentId} does not exist in region ${context.region ?? '(unknown)'}: ` +
        'check --region / AWS_REGION and the account',
      CouldNotAsk,
      options,
    );
  }
  if (name === 'InvalidDeploymentIdException') {
    return new WhyError(`CodeDeploy rejected the deployment id ${deploymentId}: ${message}`, 2, options);
  }
  if (name === 'CredentialsProviderError') {
    return new WhyError(
      `no AWS credentials found (${message}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, ` +
        'or run where a role provides them',
      CouldNotAsk,
      options,
    );
  }
  if (message === 'Region is missing') {
    return new WhyError('no AWS region: pass --region or set AWS_REGION', CouldNotAsk, options);
  }
  if (message.startsWith('Region not accepted')) {
    return new WhyError(`bad AWS region: ${message}`, CouldNotAsk, options);
  }
  if ((code !== undefined && NetworkCodes.has(code)) || name === 'TimeoutError') {
    const where = context.endpoint ?? 'its endpoint';
    const tries = attempts === undefined ? '' : ` after ${plural(attempts, 'attempt')}`;
    return new WhyError(
      `cannot reach CodeDeploy at ${where}: ${code ?? name}${tries} ` +
        '(check --endpoint-url, AWS_ENDPOINT_URL_CODEDEPLOY, AWS_ENDPOINT_URL and the network)',
      CouldNotAsk,
      options,
    );
  }
  if (readObject(error, '$metadata') !== undefined && readString(error, '$fault') !== undefined) {
    return new WhyError(
      `CodeDeploy ${operation} for ${deploymentId} failed: ${name}: ${message}`,
      CouldNotAsk,
      options,
    );
  }
  return new WhyError(`${operation} for ${deploymentId} failed: ${name}: ${message}`, CouldNotAsk, options);
}

/** The first line of a message, so no error ever spans lines. */
export function firstLine(text: string): string {
  return (text.split(/\r?\n/, 1)[0] ?? '').trim();
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function readAttempts(error: unknown): number | undefined {
  const attempts = readObject(error, '$metadata')?.attempts;
  return typeof attempts === 'number' ? attempts : undefined;
}

function readString(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : undefined;
}

function readObject(value: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'object' && field !== null ? (field as Record<string, unknown>) : undefined;
}
