import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyPurposes, listConfigKeys, renderConfigReference } from '../../build/config-reference.ts';
import { checkPortableConfig } from '../../src/core/config/load.ts';

const file = path.resolve(import.meta.dirname, '../../docs/configuration.md');
const begin = '<!-- generated: config reference -->\n';
const end = '<!-- end generated -->';

describe('docs/configuration.md', () => {
  it('holds the key table generated from the schema (UPDATE_DOCS=1 rewrites it)', () => {
    const doc = fs.readFileSync(file, 'utf8');
    const [head, rest] = [doc.slice(0, doc.indexOf(begin) + begin.length), doc.slice(doc.indexOf(end))];
    const expected = `${head}${renderConfigReference()}\n${rest}`;
    if (process.env.UPDATE_DOCS === '1') fs.writeFileSync(file, expected);
    expect(fs.readFileSync(file, 'utf8')).toBe(expected);
  });

  it('says what every key is for, and nothing about a key that does not exist', () => {
    const keys = listConfigKeys().map((k) => k.key);
    expect(keys.filter((k) => !(k in KeyPurposes))).toEqual([]);
    expect(Object.keys(KeyPurposes).filter((k) => !keys.includes(k))).toEqual([]);
  });

  it("its examples' portproof.yml blocks pass every rule bundle applies", () => {
    const doc = fs.readFileSync(file, 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n(app:\n[\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const [i, text] of blocks.entries()) {
      const config = path.join(fs.mkdtempSync(path.join('/tmp', 'portproof-docs-')), `example-${i}.yml`);
      fs.writeFileSync(config, text);
      expect(checkPortableConfig(config)).toEqual([]);
      fs.rmSync(path.dirname(config), { recursive: true });
    }
  });
});
