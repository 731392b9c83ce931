/**
 * Let output into a closed pipe (`hooks/start --check | head -1`) end quietly: the reader left, so the rest of the
 * output is dropped and the run goes on to its own exit code, with no EPIPE stack trace.
 */
export function ignoreClosedPipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
