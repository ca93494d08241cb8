/**
 * @module The client's address and scheme, believing X-Forwarded-* only as far as TRUST_PROXY says,
 * and only on requests that came through the proxy when PROXY_SECRET says which those are.
 */
import { isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { fromProxy } from '#src/middleware/edge/index.ts';

function socketAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // app.request() in tests has no socket
  }
}

/**
 * With `trustedProxies` = n, the address n entries from the right of X-Forwarded-For (each trusted
 * proxy appends the address it saw, some with its port: `1.2.3.4:5678`, `[2001:db8::1]:443`); with
 * 0, the socket's peer. An entry there that is not an address was not written by a trusted proxy
 * (a request that skipped one, or a forged header), so the socket's peer it is.
 */
export function clientIp(c: Context, trustedProxies: number): string {
  if (trustedProxies > 0 && fromProxy(c.env)) {
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean);
    const candidate = withoutPort(hops[hops.length - trustedProxies] ?? '');
    if (isIP(candidate)) return candidate;
  }
  return socketAddress(c) ?? 'unknown';
}

/** `1.2.3.4:5678` → `1.2.3.4`, `[2001:db8::1]:443` or `[2001:db8::1]` → `2001:db8::1`; else as it is. */
function withoutPort(entry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry)?.[1];
  if (bracketed !== undefined) return bracketed;
  return /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(entry)?.[1] ?? entry;
}

/**
 * What a limit per address counts by: an IPv4 address as it is (an IPv4-mapped IPv6 address,
 * `::ffff:1.2.3.4` however written, as its IPv4 address), an IPv6 address by its /64, the least a
 * single subscriber is given, who could otherwise take a new address, and a new allowance, for every
 * attempt. Anything else as it is.
 *
 * @example addressKey('2001:db8:0:1:a::2') // '2001:db8:0:1::/64'
 */
export function addressKey(ip: string): string {
  const address = ip.replace(/%.*$/, ''); // a zone (fe80::1%eth0)
  if (isIP(address) !== 6) return ip;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail as two groups). */
function ipv6Groups(address: string): number[] {
  const parse = (part: string | undefined) =>
    part
      ? part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [Number.parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        })
      : [];
  const [head, tail] = address.split('::');
  const first = parse(head);
  if (tail === undefined) return first;
  const last = parse(tail);
  return [...first, ...Array<number>(8 - first.length - last.length).fill(0), ...last];
}

/** Whether the browser reached us over https (directly, or per a trusted proxy's X-Forwarded-Proto). */
export function isHttps(c: Context, trustedProxies: number): boolean {
  if (trustedProxies > 0 && fromProxy(c.env)) {
    const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
    if (proto) return proto === 'https';
  }
  return new URL(c.req.url).protocol === 'https:';
}

/** The host the browser asked for (host[:port]), per a trusted proxy's X-Forwarded-Host, else Host. */
export function requestHost(c: Context, trustedProxies: number): string {
  const forwardedHost =
    trustedProxies > 0 && fromProxy(c.env)
      ? c.req.header('x-forwarded-host')?.split(',')[0]?.trim()
      : undefined;
  return forwardedHost || c.req.header('host') || new URL(c.req.url).host;
}
