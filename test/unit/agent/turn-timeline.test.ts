import assert from 'node:assert/strict';
import { TurnTimeline } from '../../../src/agent/turn-timeline.js';

describe('agent: TurnTimeline', () => {
  it('reports marks relative to the end of speech and keeps the first of each', () => {
    const t = new TurnTimeline(1, 1000);
    t.mark('asrFinal', 1120);
    t.mark('llmFirstToken', 1300);
    t.mark('llmFirstToken', 1400);
    t.mark('ttsFirstAudio', 1450.5);
    t.mark('firstRtpOut', 1460);
    const r = t.toJSON();
    assert.deepEqual(r.marks, { speechEnd: 0, asrFinal: 120, llmFirstToken: 300, ttsFirstAudio: 450.5, firstRtpOut: 460 });
    assert.equal(t.responseMs, 460);
  });

  it('counts connections opened inside the turn from the acquisitions', () => {
    const t = new TurnTimeline(2, 0);
    t.acquired('llm', 0.05, false);
    t.acquired('tts', 130, true);
    assert.equal(t.toJSON().connectionsOpened, 1);
    assert.deepEqual(t.toJSON().acquireMs, { llm: 0.05, tts: 130 });
  });

  it('has no response time until the first RTP packet went out', () => {
    const t = new TurnTimeline(3, 0);
    t.mark('asrFinal', 10);
    assert.equal(t.responseMs, undefined);
    assert.equal(t.toJSON().outcome, 'open');
  });
});
