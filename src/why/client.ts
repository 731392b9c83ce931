// The CodeDeploy client: standard credential chain and region; endpoint from --endpoint-url or the SDK's own env vars.
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';

/** Attempts per call, first included: enough to ride out a blip, few enough that a throttled run ends quickly. */
export const DefaultMaxAttempts = 3;
/** Give up on a connection that does not open, and on a request that does not answer, instead of hanging. */
export const DefaultConnectionTimeoutMs = 5_000;
export const DefaultRequestTimeoutMs = 30_000;

/** How to reach CodeDeploy; anything unset comes from the SDK's usual sources. */
export interface ClientOptions {
  region?: string | undefined;
  endpointUrl?: string | undefined;
  maxAttempts?: number | undefined;
}

/** A client plus where its last request went, for the "cannot reach" message. */
export interface WhyClient {
  client: CodeDeployClient;
  lastEndpoint(): string | undefined;
  region(): Promise<string | undefined>;
}

/** Create the client. AWS_ENDPOINT_URL_CODEDEPLOY and AWS_ENDPOINT_URL are honoured by the SDK itself (3.1133). */
export function createWhyClient(options: ClientOptions): WhyClient {
  // The SDK warns on Node 20 over several stderr lines; the CLI promises one-line errors. An explicit setting wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new CodeDeployClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpointUrl === undefined ? {} : { endpoint: options.endpointUrl }),
    maxAttempts: options.maxAttempts ?? DefaultMaxAttempts,
    requestHandler: { connectionTimeout: DefaultConnectionTimeoutMs, requestTimeout: DefaultRequestTimeoutMs },
  });
  let last: string | undefined;
  client.middlewareStack.add(
    (next) => async (args) => {
      last = describeRequestUrl(args.request) ?? last;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'portproofRecordEndpoint' },
  );
  return {
    client,
    lastEndpoint: () => last,
    region: async () => {
      try {
        return await client.config.region();
      } catch {
        // No region configured: the call itself reports that; here it only labels a message.
        return undefined;
      }
    },
  };
}

function describeRequestUrl(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const { protocol, hostname, port, path } = request as Record<string, unknown>;
  if (typeof protocol !== 'string' || typeof hostname !== 'string') return undefined;
  const portPart = typeof port === 'number' ? `:${port}` : '';
  return `${protocol}//${hostname}${portPart}${typeof path === 'string' ? path : '/'}`;
}
