// Swap pages out to a vswap cluster and back in, from a program.
// Run it next to `npm start` (after `npm run build`): node examples/swap-pages.mjs
import { VswapClient, VswapClientError } from 'vswap';

// The address, token and CA come from VSWAP_ADDRESS, VSWAP_TOKEN and VSWAP_CA, else
// 127.0.0.1:50051 and the files npm start wrote (.vswap/admin.token, .vswap/tls/ca.pem);
// or pass them: new VswapClient({ address, token, ca: 'path/to/ca.pem' }).
const client = new VswapClient({ deadlineMs: 3_000 });
const owner = 'example/app-1';

try {
  // Swap three 4 KiB pages out: one slot each (the ids are what you keep).
  const pages = ['alpha', 'beta', 'gamma'].map((word) => Buffer.alloc(4096, word));
  const { slots, tiers } = await client.swapOut(owner, pages);
  console.log(`swapped out ${slots.length} pages: slots ${slots.join(', ')} in ${tiers.join(', ')}`);

  // Load the first two and release them (a swap-in): their slots are freed.
  const back = await client.load(owner, slots.slice(0, 2), { release: true });
  console.log(`loaded ${back.length} pages back, same bytes: ${back.every((p, i) => p.equals(pages[i]))}`);

  // The third is not needed any more: free it without reading it.
  const counts = await client.free(owner, slots.slice(2));
  console.log(`freed slot ${slots[2]}: swap count now ${counts[0]}`);
} catch (err) {
  if (!(err instanceof VswapClientError)) throw err;
  if (err.codeName === 'DATA_LOSS') {
    // These pages cannot be read back (their backend lost them): rebuild them from elsewhere.
    console.error(`lost pages in slots ${err.slots.join(', ')}: ${err.message}`);
  } else if (err.codeName === 'UNAVAILABLE' || err.codeName === 'DEADLINE_EXCEEDED') {
    // The cluster did not answer, even after the SDK's retries: try again later.
    console.error(`cluster unreachable at ${client.address}: ${err.message}`);
  } else {
    console.error(`refused: ${err.codeName}: ${err.message}`); // e.g. UNAUTHENTICATED: no or a wrong token
  }
  process.exitCode = 1;
} finally {
  client.close();
}
