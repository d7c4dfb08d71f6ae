// Tests of the TypeScript client against a running Tally API. TALLY_URL and the keys of a fresh tenant (with the test
// fixture's default config: co2_saved_kg 0-100,000, dimension country, boards global/country) come from the caller:
// tests/Tally.Api.Tests/TypeScriptClientTests.cs runs `node --test` with them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TallyClient, TallyApiError } from "../dist/index.js";

const url = process.env.TALLY_URL;
const ingestKey = process.env.TALLY_TEST_INGEST_KEY;
const readKey = process.env.TALLY_TEST_READ_KEY;
const at = process.env.TALLY_TEST_NOW ?? new Date().toISOString();
if (!url || !ingestKey || !readKey) throw new Error("set TALLY_URL, TALLY_TEST_INGEST_KEY and TALLY_TEST_READ_KEY (run through deploy/local/test)");

const bike = (user, kg) => ({ user_id: user, action: "bike", measures: { co2_saved_kg: kg }, dims: { country: "DE" }, occurred_at: at });

async function eventually(probe, done, what, seconds = 10) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("events go in batches with keys made once; a resend is all duplicates", async () => {
  const client = new TallyClient({ baseUrl: url, apiKey: ingestKey, batchSize: 2 });
  const events = [bike("ts_ada", 2.5), bike("ts_ada", 1.25), bike("ts_bob", 3), bike("ts_bob", 99_999_999)];
  const sent = await client.ingest(events);
  assert.deepEqual([sent.accepted, sent.duplicates, sent.rejected, sent.retry], [3, 0, 1, 0]);
  assert.equal(sent.results[3].error.field, "events[3].measures.co2_saved_kg", "the path within the caller's list");
  assert.ok(events.every((e) => /^[0-9a-f-]{36}$/.test(e.idempotency_key)), "each event got its key");
  const again = await client.ingest(events.slice(0, 3));
  assert.equal(again.duplicates, 3);
});

test("typed reads: stats, a board, a rollup; an unknown user is null", async () => {
  const client = new TallyClient({ baseUrl: url, apiKey: readKey });
  const ada = await eventually(() => client.stats("ts_ada"), (s) => s !== null, "ts_ada's stats");
  assert.equal(ada.measures.co2_saved_kg.all_time, 3.75);
  assert.equal(await client.stats("nobody_here"), null);
  const board = await eventually(() => client.leaderboard("co2_saved_kg", { limit: 10 }), (b) => b.members >= 2, "the board");
  assert.deepEqual(board.entries.slice(0, 2).map((e) => [e.rank, e.user_id, e.score]), [[1, "ts_ada", 3.75], [2, "ts_bob", 3]]);
  const rollup = await eventually(() => client.rollup("co2_saved_kg"), (r) => r.total === 6.75, "the rollup");
  assert.equal(rollup.users, 2);
});

test("a refused request is a TallyApiError naming the field", async () => {
  const client = new TallyClient({ baseUrl: url, apiKey: readKey });
  await assert.rejects(client.leaderboard("co2_saved_kg", { limit: 5000 }), (error) => {
    assert.ok(error instanceof TallyApiError);
    assert.equal(error.status, 400);
    assert.equal(error.field, "limit");
    return true;
  });
});

test("a lost answer (503 with Retry-After) is retried with the same keys and applied once", async () => {
  const bodies = [];
  let lose = 1;
  // The first POST reaches the API; its answer is replaced by a 503, as a dropped connection behind a balancer would.
  const lossy = async (input, init) => {
    if (init?.method === "POST") bodies.push(JSON.parse(init.body));
    const response = await fetch(input, init);
    if (init?.method === "POST" && lose-- > 0) return new Response('{"error":{"code":"unavailable","message":"lost"}}', { status: 503, headers: { "Retry-After": "1" } });
    return response;
  };
  const client = new TallyClient({ baseUrl: url, apiKey: ingestKey, fetch: lossy });
  const started = Date.now();
  const sent = await client.ingest([bike("ts_cleo", 2), bike("ts_cleo", 0.5)]);
  assert.equal(sent.duplicates, 2, "the first attempt was stored");
  assert.ok(Date.now() - started >= 900, "Retry-After was honoured");
  assert.equal(bodies.length, 2);
  assert.deepEqual(bodies[1].events.map((e) => e.idempotency_key), bodies[0].events.map((e) => e.idempotency_key));
  const reader = new TallyClient({ baseUrl: url, apiKey: readKey });
  assert.equal((await reader.stats("ts_cleo")).measures.co2_saved_kg.all_time, 2.5, "applied once");
});
