import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Synthesizer } from '../../../src/local/index.js';
import { ulawToPcm } from '../../../media/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway, leasesOut } from '../../support/gateway.js';
import { until } from '../../support/wait.js';
import { peakRms, wav8k } from '../../support/wav.js';

/** dumpcap on loopback for a UDP port range; resolves once it is capturing. */
async function capture(file: string, lo: number, hi: number): Promise<ChildProcess> {
  const d = spawn('dumpcap', ['-i', 'lo', '-f', `udp portrange ${lo}-${hi}`, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  d.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  await until(() => /Capturing on/.test(err) || d.exitCode !== null, 'dumpcap capturing', 10_000);
  if (d.exitCode !== null) throw new Error(`dumpcap failed: ${err}`);
  return d;
}

/**
 * SDES-SRTP with a real peer: baresip (Debian) with its srtp module and `mediaenc=srtp-mand`
 * offers RTP/SAVP with a=crypto and refuses any call that is not SRTP. It speaks a sentence after
 * two seconds of silence and records what it decrypts from us; dumpcap records the wire.
 */
// baresip 1.0 offers a single a=crypto line, AES_CM_128_HMAC_SHA1_80, so the _32 suite is
// proven against libsrtp's reference packet (test/unit/media/srtp.test.ts) and sipp, not here.
for (const suite of ['AES_CM_128_HMAC_SHA1_80'] as const) describe(`trunks: SRTP (SDES) with baresip, ${suite}`, function () {
  this.timeout(90_000);
  let g: Gateway;
  const dir = mkdtempSync(join(tmpdir(), 'wl-srtp-baresip-'));
  const portMin = 50000 + 2 * Math.floor(Math.random() * 2000);
  const tag = suite.endsWith('80') ? 10 : 4;

  before(async () => {
    g = await startTestGateway({ media: { portMin, portMax: portMin + 99, srtp: { policy: 'required', suites: [suite] } } });
    const speech = await new Synthesizer().synthesize('Hello, I would like to book an appointment please.');
    writeFileSync(join(dir, 'speech.wav'), wav8k(ulawToPcm(Buffer.concat([Buffer.alloc(16000, 0xff), speech, Buffer.alloc(64000, 0xff)]))));
    writeFileSync(join(dir, 'config'), [
      'sip_listen 127.0.0.1:0',
      `audio_source aufile,${join(dir, 'speech.wav')}`,
      `audio_player aufile,${join(dir, 'heard.wav')}`,
      'module_path /usr/lib/baresip/modules',
      'module g711.so', 'module aufile.so', 'module sndfile.so', 'module srtp.so',
      'module_app account.so', 'module_app menu.so',
      `snd_path ${dir}`, '',
    ].join('\n'));
    writeFileSync(join(dir, 'accounts'), '<sip:caller@127.0.0.1>;regint=0;mediaenc=srtp-mand;audio_codecs=PCMU\n');
  });
  after(async () => {
    await g.close();
    if (!process.env.SRTP_DEBUG) rmSync(dir, { recursive: true, force: true });
  });

  it('is answered RTP/SAVP with a=crypto; audio flows both ways encrypted and each side decrypts the other', async () => {
    const pcap = join(dir, 'wire.pcapng');
    const cap = await capture(pcap, portMin, portMin + 99);
    const b = spawn('baresip', ['-f', dir, '-e', `/dial sip:15550001000@127.0.0.1:${g.sip.port}`, '-t', '25'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    b.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    b.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      await until(() => g.calls.view().recent.length > 0, 'baresip hung up when its file ended', 60_000);
    } finally {
      b.kill('SIGKILL');
      cap.kill('SIGINT');
      await new Promise((r) => (cap.exitCode !== null ? r(undefined) : cap.once('exit', r)));
    }
    assert.match(out, /Call established/, out);
    assert.match(out, new RegExp(`SRTP is Enabled \\(cryptosuite=${suite}\\)`), 'baresip runs the suite we answered');
    const c = g.calls.view().recent[0]!;
    assert.equal(c.codec, 'PCMU');
    assert.equal(c.endReason, 'bye');
    // Our side authenticated and decrypted baresip's packets: none refused, and its speech
    // reached the recognizer as speech (the stand-in ASR labels voiced audio "[speech …]").
    assert.ok((c.rtp?.received ?? 0) > 100, `RTP received: ${JSON.stringify(c.rtp)}`);
    if (process.env.SRTP_DEBUG) console.log(JSON.stringify(c.rtp), out);
    const reply = c.turns.find((t) => t.text.startsWith('[speech'));
    assert.ok(reply?.marks.firstRtpOut !== undefined, `baresip's speech was heard and answered: ${JSON.stringify(c.turns)}`);
    // baresip decrypted ours: what it recorded holds the agent's voice (SRTP it could not
    // authenticate would have been dropped, leaving silence).
    const heard = readdirSync(dir).find((f) => f.endsWith('-dec.wav'));
    assert.ok(heard, `baresip recorded the call: ${readdirSync(dir).join(', ')}`);
    assert.ok(peakRms(readFileSync(join(dir, heard))) > 500, 'the recording holds speech');

    // The wire: every RTP datagram either way is 12 + 160 + the suite's tag, and none carries
    // the all-0xFF µ-law silence both sides send in plain RTP during the first seconds.
    const { stdout } = await promisify(execFile)('tshark', ['-r', pcap, '-T', 'fields', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'udp.payload'], { maxBuffer: 64 << 20 });
    const rtpPort = c.localPort!;
    const rows = stdout.trim().split('\n').map((l) => l.split('\t')).map(([s, d, p]) => ({ src: Number(s), dst: Number(d), payload: Buffer.from(p ?? '', 'hex') }));
    const toUs = rows.filter((r) => r.dst === rtpPort);
    const fromUs = rows.filter((r) => r.src === rtpPort);
    // We send only while the agent speaks (no comfort frames), baresip all the time.
    assert.ok(toUs.length > 100 && fromUs.length > 10, `captured ${toUs.length} in, ${fromUs.length} out`);
    for (const r of [...toUs, ...fromUs]) {
      assert.equal(r.payload.length, 172 + tag, `SRTP with a ${tag * 8}-bit tag`);
      assert.equal(r.payload[0]! >> 6, 2, 'the RTP header stays in the clear');
      assert.ok(r.payload.subarray(12, 172).some((x) => x !== 0xff) && r.payload.subarray(12, 172).some((x) => x !== 0x7f), 'payload is not plain µ-law silence');
    }
    const distinct = new Set([...toUs, ...fromUs].map((r) => r.payload.subarray(12, 28).toString('hex')));
    assert.ok(distinct.size > 0.95 * (toUs.length + fromUs.length), 'encrypted payloads never repeat, even over silence');
    // SRTCP: E bit and index after each of our compound packets.
    const ourRtcp = rows.filter((r) => r.src === rtpPort + 1);
    assert.ok(ourRtcp.length > 0, 'we sent RTCP');
    for (const r of ourRtcp) assert.equal(r.payload[r.payload.length - 14]! & 0x80, 0x80, 'SRTCP E bit');
    // baresip (libre) also sends a few plain RTCP packets (an APP "PINGPONG" before SRTP is
    // up, a BYE at the end): those, and only those, may have been refused.
    const plainRtcpIn = rows.filter((r) => r.dst === rtpPort + 1 && (r.payload.length < 22 || (r.payload[r.payload.length - 14]! & 0x80) === 0)).length;
    const refused = (c.rtp?.dropped.srtpAuth ?? 0) + (c.rtp?.dropped.malformed ?? 0) + (c.rtp?.dropped.srtpReplay ?? 0);
    assert.ok(refused <= plainRtcpIn, `${refused} refused, ${plainRtcpIn} plain RTCP packets from baresip`);
    await until(() => leasesOut(g) === 0, 'every lease returned');
  });
});
