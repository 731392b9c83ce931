// The `{port}` placeholder of app.command, app.log, health.url and nginx.line.

/** `text` with every `{port}` replaced by the port: the one place the placeholder is filled in. */
export function substitutePort(text: string, port: number): string {
  return text.replaceAll('{port}', String(port));
}
