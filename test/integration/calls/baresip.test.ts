import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Synthesizer } from '../../../src/local/index.js';
import { ulawToPcm } from '../../../media/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway, leasesOut } from '../../support/gateway.js';
import { until } from '../../support/wait.js';
import { peakRms, wav8k } from '../../support/wav.js';
import { recognizePcm8k, wordsHeard } from '../../support/recognize.js';

/**
 * A call from a real softphone: baresip (Debian) dials the gateway, speaks a
 * sentence from a WAV file, records what it hears, and hangs up when the file ends.
 */
describe('calls: a baresip softphone calls the gateway', function () {
  // The local ASR and the check of what baresip heard run pocketsphinx: real time on an idle core, slower on a busy one.
  this.timeout(180_000);
  let g: Gateway;
  const dir = mkdtempSync(join(tmpdir(), 'wl-baresip-'));

  before(async () => {
    g = await startTestGateway({ local: { asrRecognizer: 'auto' } });
    const speech = await new Synthesizer().synthesize('I would like to book an appointment for tomorrow morning.');
    // Two seconds of quiet, the sentence, then fourteen seconds to hear the reply (pocketsphinx hears it first).
    writeFileSync(join(dir, 'speech.wav'), wav8k(ulawToPcm(Buffer.concat([Buffer.alloc(16000, 0xff), speech, Buffer.alloc(112000, 0xff)]))));
    writeFileSync(join(dir, 'config'), [
      'sip_listen 127.0.0.1:0',
      `audio_source aufile,${join(dir, 'speech.wav')}`,
      `audio_player aufile,${join(dir, 'heard.wav')}`,
      'module_path /usr/lib/baresip/modules',
      'module g711.so', 'module aufile.so', 'module sndfile.so',
      'module_app account.so', 'module_app menu.so',
      `snd_path ${dir}`, '',
    ].join('\n'));
    writeFileSync(join(dir, 'accounts'), '<sip:caller@127.0.0.1>;regint=0\n');
  });
  after(async () => {
    await g.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is answered in PCMU, its speech gets a reply it hears, its hangup releases everything', async () => {
    const b = spawn('baresip', ['-f', dir, '-e', `/dial sip:15550001000@127.0.0.1:${g.sip.port}`, '-t', '40'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    b.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    b.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      await until(() => g.calls.view().recent.length > 0, 'baresip hung up when its file ended', 90_000);
    } finally {
      b.kill('SIGKILL');
    }
    assert.match(out, /Call established/);
    const c = g.calls.view().recent[0]!;
    assert.equal(c.codec, 'PCMU');
    assert.equal(c.endReason, 'bye');
    const reply = c.turns.find((t) => t.text !== 'greeting' && t.marks.firstRtpOut !== undefined);
    assert.ok(reply, `a reply was sent: ${JSON.stringify(c.turns)}`);
    // The agent heard words, not just energy (issue 11 item 8).
    const said = wordsHeard(reply.text, ['like', 'book', 'appointment', 'tomorrow', 'morning']);
    assert.ok(said.length >= 2, `words of baresip's sentence in the turn's transcript "${reply.text}"`);
    // sndfile writes what baresip decoded from our RTP: the agent's voice, and words can be told in it.
    const heard = readdirSync(dir).find((f) => f.endsWith('-dec.wav'));
    assert.ok(heard, `baresip recorded the call: ${readdirSync(dir).join(', ')}`);
    const recording = readFileSync(join(dir, heard));
    assert.ok(peakRms(recording) > 500, 'the recording holds speech');
    assert.equal(recording.readUInt32LE(24), 8000, 'baresip recorded at the call\'s 8 kHz');
    const data = recording.subarray(44);
    const text = await recognizePcm8k(new Int16Array(data.buffer, data.byteOffset, data.length >> 1));
    // The greeting (config/default.yaml), then the local LLM's reply (src/local/llm-server.ts): their words.
    const agentWords = wordsHeard(text, ['thanks', 'calling', 'receptionist', 'how', 'can', 'you', 'help', 'today', 'booked', 'found', 'details', 'anything', 'else', 'with']);
    assert.ok(agentWords.length >= 3, `the agent's words in what baresip heard: "${text}"`);
    await until(() => leasesOut(g) === 0, 'every lease returned');
  });
});
