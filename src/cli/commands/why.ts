// `portproof why DEPLOYMENT_ID`: flags → the why recipe → exit code; expected errors are one line on stderr.
import { parseWhyArgs, WhyUsage } from '../../why/args.ts';
import { CouldNotAsk, WhyError } from '../../why/errors.ts';
import { runWhy } from '../../why/run-why.ts';

/** Run the command; 0 succeeded, 1 the deployment failed or stopped, 2 usage, 3 could not ask. */
export async function run(argv: string[]): Promise<number> {
  const output = { out: (line: string) => console.log(line), err: (line: string) => console.error(line) };
  try {
    const options = parseWhyArgs(argv, process.env);
    if (options === undefined) {
      output.out(WhyUsage);
      return 0;
    }
    return await runWhy(options, output);
  } catch (error) {
    if (error instanceof WhyError) {
      output.err(`portproof why: ${error.message}`);
      return error.exitCode;
    }
    // A bug, not an expected failure: still one line, with the stack on request.
    if (process.env.PORTPROOF_DEBUG === '1') console.error(error);
    const e = error instanceof Error ? error : new Error(String(error));
    output.err(`portproof why: unexpected ${e.name}: ${e.message.split('\n')[0]} (PORTPROOF_DEBUG=1 shows the stack)`);
    return CouldNotAsk;
  }
}
