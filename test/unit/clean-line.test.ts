import { describe, expect, it } from 'vitest';
import { displayUrl, listSecrets } from '../../src/core/config/secrets.ts';
import { cleanLine, cleanStrings, cutOnCodePoints, stripControls } from '../../src/core/text/clean-line.ts';
import { hideSecrets, hideUrlPasswords, redactJsonLine, redactSecrets } from '../../src/core/text/redact.ts';

describe('stripControls', () => {
  it.each([
    ['a colour sequence as a whole', '\x1b[31mERROR\x1b[0;39m done', 'ERROR done'],
    ['a colour with many parameters', '\x1b[1;38;5;196mred\x1b[m', 'red'],
    ['an OSC title ended by BEL or ST', '\x1b]0;title\x07a\x1b]8;;http://x\x1b\\b', 'ab'],
    ['a two-byte escape', '\x1bMup\x1b(Bx', 'upx'],
    ['an 8-bit CSI', 'a\u009b31mb', 'ab'],
    ['NUL, BEL, backspace, DEL', 'a\x00b\x07c\x08d\x7fe', 'abcde'],
    ['C1 controls', 'a\u0085b\u009fc', 'abc'],
    ['line breaks and tabs as one space', 'a\r\nb\tc', 'a b c'],
    ['bidi overrides', 'a\u202eb\u2066c\u2069', 'abc'],
    ['lone surrogates and U+FFFD', 'a\ud83db\ude00c\ufffdd', 'abcd'],
    ['a whole emoji kept', 'fire 🔥 ok', 'fire 🔥 ok'],
    ['an escape cut short at the end', 'ok\x1b[3', 'ok'],
  ])('%s', (_what, input, expected) => {
    expect(stripControls(input)).toBe(expected);
  });
});

describe('cutOnCodePoints', () => {
  it('never splits an emoji, whatever the cut', () => {
    for (let prefix = 0; prefix < 4; prefix++) {
      for (let max = 10; max < 40; max++) {
        const cut = cutOnCodePoints(`${'a'.repeat(prefix)}${'🔥'.repeat(20)}`, max);
        expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
        expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(max);
        expect(cut.endsWith('…')).toBe(true);
        expect(Buffer.from(cut).toString('utf8')).toBe(cut);
      }
    }
  });

  it('leaves text within the limit alone and counts UTF-8 bytes', () => {
    expect(cutOnCodePoints('abc', 3)).toBe('abc');
    expect(cutOnCodePoints('ééé', 5)).toBe('é…');
  });
});

describe('redaction', () => {
  it('shows a URL with its password (or a bare token) as ***', () => {
    expect(displayUrl('http://monitor:S3cr3t@127.0.0.1:8081/health')).toBe('http://monitor:***@127.0.0.1:8081/health');
    expect(displayUrl('https://ghp_abc123@example.com/x')).toBe('https://***@example.com/x');
    expect(displayUrl('http://127.0.0.1:8081/health?u=a@b')).toBe('http://127.0.0.1:8081/health?u=a@b');
    expect(hideUrlPasswords('at http://monitor:S3cr3t@127.0.0.1:8081/ and https://tok@h/')).toBe(
      'at http://monitor:***@127.0.0.1:8081/ and https://***@h/',
    );
  });

  it('lists URL passwords (raw and decoded) and app.env values, not the ordinary ones', () => {
    const secrets = listSecrets({
      app: {
        env: { DB_PASSWORD: 'hunter2-long', DEBUG: 'true', WORKERS: '4', PROFILE: 'prod', PORT_BASE: '80818082' },
      } as never,
      health: { url: 'http://monitor:p%40ss@127.0.0.1:{port}/' } as never,
      nginx: { url: 'http://edge:other@127.0.0.1/' } as never,
    });
    expect(secrets.sort()).toEqual(['hunter2-long', 'other', 'p%40ss', 'p@ss'].sort());
  });

  it('hides remembered secrets in lines and in JSON lines, also JSON-escaped', () => {
    hideSecrets(['pa"ss\\word', 'hunter2-long']);
    expect(redactSecrets('DB=hunter2-long x')).toBe('DB=*** x');
    expect(redactJsonLine(JSON.stringify({ msg: 'env pa"ss\\word and hunter2-long' }))).toBe(
      '{"msg":"env *** and ***"}',
    );
    expect(cleanLine(`${'x'.repeat(290)}hunter2-long`, 300)).toBe(`${'x'.repeat(290)}***`);
    expect(cleanLine('DB=hunter2\x1b[0m-long', 300)).toBe('DB=***');
  });
});

describe('redaction of what the red team found', () => {
  it('a raw @ in a URL password: the remembered secret is hidden whole, the URL pattern takes the last @', () => {
    const url = 'https://monitor:Sup3r@Leaky@127.0.0.1:8081/actuator/health';
    expect(hideUrlPasswords(`probe failed: ${url}: HTTP 502`)).toBe(
      'probe failed: https://monitor:***@127.0.0.1:8081/actuator/health: HTTP 502',
    );
    expect(hideUrlPasswords('https://tok@en@h/x')).toBe('https://***@h/x');
    expect(displayUrl(url)).toBe('https://monitor:***@127.0.0.1:8081/actuator/health');
    const secrets = listSecrets({ app: {} as never, health: { url } as never, nginx: undefined });
    expect(secrets).toEqual(['Sup3r@Leaky']);
    hideSecrets(secrets);
    // Remembered, and also written without its URL around it (a log line, a JSON field).
    expect(redactSecrets(`${url} and pw=Sup3r@Leaky`)).toBe(
      'https://monitor:***@127.0.0.1:8081/actuator/health and pw=***',
    );
    expect(redactJsonLine(JSON.stringify({ url }))).toBe(
      '{"url":"https://monitor:***@127.0.0.1:8081/actuator/health"}',
    );
    expect(cleanLine(url, 300)).not.toContain('Leaky');
  });

  it('an app.env value over several lines: each line is remembered too (logs are split into lines)', () => {
    const value = 'hunter2-part-one\nhunter2-part-two\r\nshort';
    const secrets = listSecrets({
      app: { env: { MULTI: value } } as never,
      health: { url: 'http://h/' } as never,
      nginx: undefined,
    });
    expect(secrets.sort()).toEqual([value, 'hunter2-part-one', 'hunter2-part-two'].sort());
    hideSecrets(secrets);
    expect(cleanLine('log: hunter2-part-two', 300)).toBe('log: ***');
    expect(cleanLine('hunter2-part-one', 300)).toBe('***');
  });

  it('cleans every string of a JSON report: C1 controls and bidi overrides gone, secrets hidden, numbers kept', () => {
    hideSecrets(['hunter2-json-secret']);
    const report = {
      ports: [{ port: 8081, owners: [{ command: 'java \u009b31m-jar \u202eraj.ppa hunter2-json-secret\x1b[0m' }] }],
      live: null,
    };
    const cleaned = cleanStrings(report);
    expect(cleaned).toEqual({ ports: [{ port: 8081, owners: [{ command: 'java -jar raj.ppa ***' }] }], live: null });
    expect(JSON.stringify(cleaned)).not.toMatch(/[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/);
  });
});
