/** @module The client's address and scheme, believing X-Forwarded-* only as far as TRUST_PROXY says. */
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
 * proxy appends the address it saw); with 0, the socket's peer.
 */
export function clientIp(c: Context, trustedProxies: number): string {
  if (trustedProxies > 0) {
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean);
    const candidate = hops[hops.length - trustedProxies];
    if (candidate) return candidate;
  }
  return socketAddress(c) ?? 'unknown';
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
