/** @module The client's address and scheme, believing X-Forwarded-* only as far as TRUST_PROXY says. */
import { isIP, isIPv4 } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

function socketAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // app.request() in tests has no socket
  }
}

/**
 * With `trustedProxies` = n, the address n entries from the right of X-Forwarded-For (each trusted
 * proxy appends the address it saw); with 0, the socket's peer. An entry there that is not an IP
 * address was not written by a trusted proxy (a request that skipped one, or a forged header), so
 * the socket's peer it is.
 */
export function clientIp(c: Context, trustedProxies: number): string {
  if (trustedProxies > 0) {
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean);
    const candidate = hops[hops.length - trustedProxies];
    if (candidate && isIP(candidate)) return candidate;
  }
  return socketAddress(c) ?? 'unknown';
}

/**
 * What a limit per address counts by: an IPv4 address (an IPv4-mapped IPv6 one too) as it is, an
 * IPv6 address by its /64, the least a single subscriber is given, who could otherwise take a new
 * address, and a new allowance, for every attempt. Anything else as it is.
 *
 * @example addressKey('2001:db8:0:1:a::2') // '2001:db8:0:1::/64'
 */
export function addressKey(ip: string): string {
  const address = ip.replace(/%.*$/, ''); // a zone (fe80::1%eth0)
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped && isIPv4(mapped)) return mapped;
  if (isIP(address) !== 6) return ip;
  const [head = '', tail] = address.split('::');
  const groups = (part: string | undefined) =>
    part ? part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group])) : [];
  const first = groups(head);
  const last = groups(tail);
  const full =
    tail === undefined ? first : [...first, ...Array(8 - first.length - last.length).fill('0'), ...last];
  return `${full
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

/** Whether the browser reached us over https (directly, or per a trusted proxy's X-Forwarded-Proto). */
export function isHttps(c: Context, trustedProxies: number): boolean {
  if (trustedProxies > 0) {
    const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
    if (proto) return proto === 'https';
  }
  return new URL(c.req.url).protocol === 'https:';
}

/** The host the browser asked for (host[:port]), per a trusted proxy's X-Forwarded-Host, else Host. */
export function requestHost(c: Context, trustedProxies: number): string {
  const forwardedHost =
    trustedProxies > 0 ? c.req.header('x-forwarded-host')?.split(',')[0]?.trim() : undefined;
  return forwardedHost || c.req.header('host') || new URL(c.req.url).host;
}
