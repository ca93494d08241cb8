import { cleanup, render, screen } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '#src/app.tsx';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  globalThis.__ENV__ = undefined;
});

describe('App', () => {
  it('shows the name, version and commit the server reports', async () => {
    const fetch = vi.fn(async () => Response.json({ name: 'plumb', version: '1.2.3', gitSha: 'abc1234' }));
    vi.stubGlobal('fetch', fetch);
    render(<App />);

    expect(await screen.findByText('1.2.3')).toBeTruthy();
    expect(screen.getByText('plumb')).toBeTruthy();
    expect(screen.getByText('abc1234')).toBeTruthy();
    expect(fetch).toHaveBeenCalledWith('/api/info', expect.anything());
  });

  it('asks the API at the runtime-configured base URL', async () => {
    globalThis.__ENV__ = { CLIENT_API_URL: 'https://api.example.test/' };
    const fetch = vi.fn(async () => Response.json({ name: 'plumb', version: '1.2.3', gitSha: null }));
    vi.stubGlobal('fetch', fetch);
    render(<App />);

    expect(await screen.findByText('unknown')).toBeTruthy();
    expect(fetch).toHaveBeenCalledWith('https://api.example.test/api/info', expect.anything());
  });

  it('says so when the server cannot be reached', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => Promise.reject(new TypeError('network down'))),
    );
    render(<App />);
    expect((await screen.findByRole('alert')).textContent).toBe('The server cannot be reached.');
  });

  it('says which status the server answered', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('nope', { status: 503 })),
    );
    render(<App />);
    expect((await screen.findByRole('alert')).textContent).toBe('The server answered 503.');
  });
});
