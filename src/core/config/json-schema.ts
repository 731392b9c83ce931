import * as z from 'zod/mini';
import { configSchema } from './schema.ts';

/** The JSON Schema of portproof.yml for editors, generated from the same definition the hooks validate with. */
export function buildConfigJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'portproof.yml',
  };
}
