import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { addressKey, clientIp } from '#src/auth/client-ip.ts';

describe('clientIp', () => {
  const seen = async (forwardedFor: string, trustedProxies: number) => {
    const app = new Hono();
    app.get('/', (c) => c.text(clientIp(c, trustedProxies)));
    return (await app.request('/', { headers: { 'x-forwarded-for': forwardedFor } })).text();
  };

  it('takes the address the last trusted proxy saw', async () => {
    expect(await seen('9.9.9.9, 203.0.113.7, 10.0.0.2', 2)).toBe('203.0.113.7');
    expect(await seen('2001:db8::1', 1)).toBe('2001:db8::1');
  });

  it('takes an address a proxy wrote with its port', async () => {
    expect(await seen('203.0.113.7:5678, 10.0.0.2', 2)).toBe('203.0.113.7');
    expect(await seen('[2001:db8::1]:443', 1)).toBe('2001:db8::1');
    expect(await seen('[2001:db8::1]', 1)).toBe('2001:db8::1');
  });

  it('ignores an entry that is not an address (a forged or skipped hop), and a header too short', async () => {
    // A 4,000-character "address" became a rate-limit key too long for its index: a 500.
    expect(await seen(`${'x'.repeat(4_000)}, 10.0.0.2`, 2)).toBe('unknown');
    expect(await seen('10.0.0.2', 2)).toBe('unknown');
  });
});

describe('addressKey', () => {
  it('counts IPv4 addresses one by one, IPv4-mapped ones as IPv4 however written', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    for (const mapped of [
      '::ffff:203.0.113.7',
      '0:0:0:0:0:FFFF:203.0.113.7',
      '0::ffff:cb00:7107',
      '::ffff:CB00:7107',
    ]) {
      expect(addressKey(mapped)).toBe('203.0.113.7');
    }
  });

  it('counts an IPv6 address by its /64, however it is written', () => {
    const key = '2001:db8:0:1::/64';
    for (const address of [
      '2001:db8:0:1::1',
      '2001:db8:0:1:a:b:c:d',
      '2001:0DB8:0000:0001:ffff::2',
      '2001:db8:0:1::203.0.113.7',
      '2001:db8:0:1::1%eth0',
    ]) {
      expect(addressKey(address)).toBe(key);
    }
    expect(addressKey('2001:db8::1:2:3:4:5')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8:0:2::1')).not.toBe(key);
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });

  it('leaves anything else as it is', () => {
    expect(addressKey('unknown')).toBe('unknown');
  });
});
