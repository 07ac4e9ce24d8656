import assert from 'node:assert/strict';
import { fullIceFor } from '../../../src/calls/webrtc-leg.js';

describe('media.webrtcFullIce: the ICE mode of a browser leg', () => {
  it('auto: full ICE for browser SIP stacks (sip.js, JsSIP) only', () => {
    assert.equal(fullIceFor('auto', 'SIP.js/0.21.2'), true);
    assert.equal(fullIceFor('auto', ' JsSIP/3.10.1'), true);
    assert.equal(fullIceFor('auto', undefined), false, 'no User-Agent: answer-only, which every offerer takes');
    assert.equal(fullIceFor('auto', 'libdatachannel-caller/1.0'), false);
    assert.equal(fullIceFor('auto', 'Linphone/5.2 (SIP.js/0.21.2 inside)'), false, 'the stack must lead the User-Agent');
  });
  it('true and false choose for every caller', () => {
    assert.equal(fullIceFor(true, undefined), true);
    assert.equal(fullIceFor(false, 'SIP.js/0.21.2'), false);
  });
});
