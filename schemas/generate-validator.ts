/**
 * Writes the precompiled (ajv standalone) validator next to the schema.
 *   npx tsx schemas/generate-validator.ts          # write
 *   npx tsx schemas/generate-validator.ts --check  # exit 1 if out of date
 * The unit test test/unit/manifest/schema.test.ts performs the same check.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { generateValidatorSource, schemaUrl, VALIDATOR_FILE } from '../src/lib/manifest/codegen.js';

const target = schemaUrl(VALIDATOR_FILE);
const source = await generateValidatorSource();
if (process.argv.includes('--check')) {
  const current = readFileSync(target, 'utf8');
  if (current !== source) {
    process.stderr.write(
      `${VALIDATOR_FILE} is out of date; run: npx tsx schemas/generate-validator.ts\n`,
    );
    process.exit(1);
  }
} else {
  writeFileSync(target, source);
  process.stdout.write(`wrote schemas/${VALIDATOR_FILE} (${source.length} bytes)\n`);
}
