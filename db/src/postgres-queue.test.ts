/**
 * The queue inside postgres.js (patched in patches/postgres+*.patch; see ADR 008), in both builds
 * the package ships. Deterministic: it asserts behaviour and the size of the backing array, not time.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

type Queue<T> = { readonly length: number; push(x: T): T; shift(): T | undefined; remove(x: T): T | null };
type QueueFactory = <T>(initial?: T[]) => Queue<T>;

const require = createRequire(import.meta.url);
const packageRoot = dirname(dirname(dirname(require.resolve('postgres')))); // …/postgres/cjs/src/index.js
const builds: [string, () => Promise<QueueFactory>][] = [
  ['ESM', async () => (await import(pathToFileURL(join(packageRoot, 'src/queue.js')).href)).default],
  ['CommonJS', async () => require(join(packageRoot, 'cjs/src/queue.js')) as QueueFactory],
];

/** An Array subclass: slice() of one makes another (Symbol.species), so the queue's copy is visible. */
class Tracked<T> extends Array<T> {
  static last: unknown[] | undefined;
  constructor(...items: never[]) {
    super(...items);
    Tracked.last = this;
  }
}

describe.each(builds)('postgres.js queue (%s build)', (_, load) => {
  it('keeps order and length through push, shift and remove', async () => {
    const Queue = await load();
    const q = Queue<string>();
    for (const x of ['a', 'b', 'c', 'd']) q.push(x);
    expect(q.length).toBe(4);
    expect(q.shift()).toBe('a');
    expect(q.remove('c')).toBe('c');
    expect(q.remove('c')).toBeNull();
    expect(q.remove('a')).toBeNull(); // already shifted
    expect(q.length).toBe(2);
    expect([q.shift(), q.shift(), q.shift()]).toEqual(['b', 'd', undefined]);
    expect(q.length).toBe(0);
  });

  it('keeps bounded storage over a million push/shift cycles while never empty, and still removes', async () => {
    const Queue = await load();
    const q = Queue<number>(Tracked.from<number>([]) as number[]);
    q.push(-1); // never empty: like requests waiting for a connection
    for (let i = 0; i < 1_000_000; i++) {
      q.push(i);
      q.shift();
    }
    expect(q.length).toBe(1);
    expect(Tracked.last?.length).toBeLessThanOrEqual(4096);
    q.push(1_000_001);
    q.push(1_000_002);
    expect(q.remove(1_000_001)).toBe(1_000_001);
    expect(q.length).toBe(2);
    expect(q.shift()).toBe(999_999);
    expect(q.shift()).toBe(1_000_002);
  });
});
