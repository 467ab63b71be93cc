import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlapDamper } from '../../daemon/engine/flap.js';

const limits = { maxRepairs: 3, windowMs: 10_000, initialDelayMs: 1_000, maxDelayMs: 4_000 };

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('repairs within the budget happen at once', () => {
  const c = clock();
  const d = new FlapDamper(limits, c.now);
  for (let i = 0; i < 3; i++) assert.equal(d.request('k').waitMs, 0);
});

test('past the budget, repairs back off exponentially up to the cap, one warning per episode', () => {
  const c = clock();
  const d = new FlapDamper(limits, c.now);
  for (let i = 0; i < 3; i++) d.request('k');
  const waits: number[] = [];
  const episodes: boolean[] = [];
  for (let i = 0; i < 5; i++) {
    const first = d.request('k');
    waits.push(first.waitMs);
    episodes.push(first.startsEpisode);
    assert.equal(d.isDamped('k'), true);
    c.advance(first.waitMs);
    assert.equal(d.request('k').waitMs, 0, 'the repair after the wait is allowed');
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 4000, 4000]);
  assert.deepEqual(episodes, [true, false, false, false, false]);
});

test('a quiet window ends the episode; other keys are independent', () => {
  const c = clock();
  const d = new FlapDamper(limits, c.now);
  for (let i = 0; i < 3; i++) d.request('k');
  assert.equal(d.request('k').startsEpisode, true);
  assert.equal(d.request('other').waitMs, 0);
  c.advance(20_000);
  assert.equal(d.request('k').waitMs, 0);
  for (let i = 0; i < 2; i++) d.request('k');
  const again = d.request('k');
  assert.equal(again.waitMs, 1000, 'the delay starts over');
  assert.equal(again.startsEpisode, true, 'a new episode warns again');
});
