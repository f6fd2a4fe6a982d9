import * as http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { FLOW_CONTROL_WINDOW_BYTES } from '../../../services/common/flow-control';
import { startServer, type RunningServer } from '../../../services/common/server';

/**
 * A 2 MiB batch crossed HTTP/2's default 64 KiB windows in 32 round trips of
 * the receiver's event loop; every vswap server must offer a window that
 * holds a whole batch, per stream and per connection.
 */
describe('HTTP/2 flow-control windows of a vswap server', () => {
  let server: RunningServer | undefined;
  let session: http2.ClientHttp2Session | undefined;
  afterEach(async () => {
    session?.destroy();
    await server?.shutdown();
    server = undefined;
    session = undefined;
  });

  it('offers a stream window and a connection window of FLOW_CONTROL_WINDOW_BYTES', async () => {
    server = await startServer({ address: '127.0.0.1:0', services: [], log: pino({ level: 'silent' }) });
    const s = http2.connect(`http://127.0.0.1:${server.port}`);
    session = s;
    await new Promise<void>((resolve, reject) => {
      s.once('remoteSettings', () => resolve());
      s.once('error', reject);
    });
    expect(s.remoteSettings.initialWindowSize).toBe(FLOW_CONTROL_WINDOW_BYTES);
    // The connection window arrives as a WINDOW_UPDATE right after the settings.
    const deadline = Date.now() + 5000;
    while ((s.state.remoteWindowSize ?? 0) < FLOW_CONTROL_WINDOW_BYTES && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(s.state.remoteWindowSize).toBe(FLOW_CONTROL_WINDOW_BYTES);
    expect(FLOW_CONTROL_WINDOW_BYTES).toBeGreaterThanOrEqual(2 * 1024 * 1024);
  });
});
