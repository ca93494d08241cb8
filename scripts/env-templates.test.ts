import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { envTemplates, renderEnvTemplate, writeEnvTemplates } from './env-templates.ts';

describe('.env.template files', () => {
  it('are current with the env schemas (run `npm run env:templates` when this fails)', async () => {
    expect(await writeEnvTemplates({ check: true })).toEqual([]);
  });

  it('list every variable of every schema', () => {
    for (const template of envTemplates) {
      const text = renderEnvTemplate(template);
      const keys = Object.keys((template.schema as z.ZodObject).shape);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(text).toMatch(new RegExp(`^(# )?${key}=`, 'm'));
    }
  });

  it('leave required variables empty and show defaults of the others', () => {
    const text = renderEnvTemplate({
      title: 'a test',
      usage: 'usage',
      source: 'here.ts',
      schema: z.object({
        NEEDED: z.string().describe('Must be set.'),
        PORT: z.coerce.number().default(8080).describe('A port.'),
      }),
    });
    expect(text).toContain('# Must be set.\n# Required.\nNEEDED=\n');
    expect(text).toContain('# A port.\n# PORT=8080\n');
  });
});
