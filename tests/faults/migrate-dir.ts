/**
 * The migrate command's work on a folder of migrations given as an argument (the real command
 * always uses the migrations it ships with): `node tests/faults/migrate-dir.ts URL DIR`. Prints what
 * it applied as JSON; a failing migration ends the process with a non-zero exit.
 */
import { migrate } from '@plumb/db';

const [url, dir] = process.argv.slice(2);
if (!url || !dir) {
  console.error('usage: node tests/faults/migrate-dir.ts URL DIR');
  process.exit(2);
}
console.log(JSON.stringify(await migrate({ url, dir })));
