/**
 * Per-packet cost of SDES-SRTP on the carrier leg, beside the plain RTP path it adds to.
 *
 *   npm run bench:srtp [-- --json] [--packets N] [--rounds R]
 *
 * Each round times N packets of every case, one case after another on the same 160-octet PCMU
 * frame: the plain send path (header + payload into a ring buffer) and receive check, SRTP
 * protect and unprotect for both suites, SRTCP protect+unprotect, and the obvious alternative
 * to our per-session cipher objects (createCipheriv('aes-128-ctr') and createHmac per packet).
 * Rounds are short and alternate, so machine noise hits every case alike: the table gives the
 * best round (the cost without contention) and the median round.
 */
import { createCipheriv, createHmac } from 'node:crypto';
import dgram from 'node:dgram';
import { loadavg } from 'node:os';
import { SrtcpContext, SrtpContext, generateKeyingMaterial, writeRtpHeader, type SrtpSuiteName } from '../media/index.js';
import { rtpPayloadEnd, rtpPayloadStart } from '../media/rtp/rtp-packet.js';
import { deriveSessionKey, SRTP_KDF_LABEL } from '../media/srtp/index.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const PACKETS = arg('--packets', 200);
const ROUNDS = arg('--rounds', 200);
const frame = Buffer.alloc(160, 0x55);

type Case = { name: string; run: (n: number) => void };

function plainCase(): Case {
  const pkt = Buffer.allocUnsafe(172);
  let seq = 0;
  return {
    name: 'plain RTP: build + receive check',
    run: (n) => {
      for (let i = 0; i < n; i++) {
        writeRtpHeader(pkt, 0, false, seq, seq * 160, 0x1234);
        pkt.set(frame, 12);
        seq = (seq + 1) & 0xffff;
        const off = rtpPayloadStart(pkt);
        if (rtpPayloadEnd(pkt, off) !== 172) throw new Error('bad');
      }
    },
  };
}

/** The plain path with its system call: one sendto() on loopback per packet (no receive). */
async function plainSendCase(): Promise<{ c: Case; close: () => void }> {
  const sink = dgram.createSocket('udp4');
  const out = dgram.createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  sink.on('message', () => undefined);
  // Connected, so send() needs no address look-up and writes at once, as RtpSession's
  // IP-literal lookup lets it do.
  await new Promise<void>((r) => out.connect(sink.address().port, '127.0.0.1', () => r()));
  const pkt = Buffer.allocUnsafe(172);
  let seq = 0;
  return {
    c: {
      name: 'plain RTP: build + UDP send on loopback',
      run: (n) => {
        for (let i = 0; i < n; i++) {
          writeRtpHeader(pkt, 0, false, seq, seq * 160, 0x1234);
          pkt.set(frame, 12);
          seq = (seq + 1) & 0xffff;
          out.send(pkt);
        }
      },
    },
    close: () => { sink.close(); out.close(); },
  };
}

/** protect then unprotect of one packet, as a call's two directions cost together. */
function srtpCase(suite: SrtpSuiteName): Case {
  const k = generateKeyingMaterial(suite);
  const tx = new SrtpContext(k);
  const rx = new SrtpContext(k);
  const tag = tx.overhead;
  const pkt = Buffer.allocUnsafe(172 + tag);
  let seq = 0;
  return {
    name: `SRTP ${suite.slice(-2)}: build + protect + unprotect`,
    run: (n) => {
      for (let i = 0; i < n; i++) {
        writeRtpHeader(pkt, 0, false, seq, seq * 160, 0x1234);
        pkt.set(frame, 12);
        seq = (seq + 1) & 0xffff;
        tx.protect(pkt, 172);
        if (rx.unprotect(pkt) !== 172) throw new Error('auth');
      }
    },
  };
}

/** The same work with a new CTR cipher and a new HMAC per packet (what we avoid). */
function naiveCase(): Case {
  const k = generateKeyingMaterial('AES_CM_128_HMAC_SHA1_80');
  const ck = deriveSessionKey(k.masterKey, k.masterSalt, SRTP_KDF_LABEL.rtpEncryption, 16);
  const ak = deriveSessionKey(k.masterKey, k.masterSalt, SRTP_KDF_LABEL.rtpAuth, 20);
  const iv = Buffer.alloc(16);
  const roc = Buffer.alloc(4);
  const pkt = Buffer.allocUnsafe(182);
  let seq = 0;
  const once = (): void => {
    iv.writeUInt16BE(seq, 12);
    const c = createCipheriv('aes-128-ctr', ck, iv);
    c.update(pkt.subarray(12, 172)).copy(pkt, 12);
    createHmac('sha1', ak).update(pkt.subarray(0, 172)).update(roc).digest().copy(pkt, 172, 0, 10);
  };
  return {
    name: 'naive SRTP 80: createCipheriv + createHmac per packet, ×2',
    run: (n) => {
      for (let i = 0; i < n; i++) {
        writeRtpHeader(pkt, 0, false, seq, seq * 160, 0x1234);
        pkt.set(frame, 12);
        seq = (seq + 1) & 0xffff;
        once(); // protect
        once(); // the receiver's verify + decrypt costs the same
      }
    },
  };
}

function srtcpCase(): Case {
  const k = generateKeyingMaterial('AES_CM_128_HMAC_SHA1_80');
  const tx = new SrtcpContext(k);
  const rx = new SrtcpContext(k);
  const rr = Buffer.from('81c90007deadbeef' + '00'.repeat(24) + '81ca0006deadbeef0110' + '61'.repeat(16) + '0000', 'hex');
  return {
    name: 'SRTCP: protect + unprotect (RR + SDES)',
    run: (n) => {
      for (let i = 0; i < n; i++) if (rx.unprotect(tx.protect(rr)!) < 0) throw new Error('auth');
    },
  };
}

const send = await plainSendCase();
const cases = [plainCase(), send.c, srtpCase('AES_CM_128_HMAC_SHA1_80'), srtpCase('AES_CM_128_HMAC_SHA1_32'), naiveCase(), srtcpCase()];
for (const c of cases) c.run(5000); // warm up the JIT and OpenSSL
const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const c of cases) {
    const t0 = process.hrtime.bigint();
    c.run(PACKETS);
    samples.get(c.name)!.push(Number(process.hrtime.bigint() - t0) / PACKETS);
  }
  // Let the sink drain what the send case queued before the next round.
  await new Promise((r) => setImmediate(r));
}
send.close();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const best = (xs: number[]): number => Math.min(...xs);
const plainBest = best(samples.get(cases[0]!.name)!);
const sendBest = best(samples.get(cases[1]!.name)!);
const srtpBest = best(samples.get(cases[2]!.name)!);
// 1,000 calls, 50 packets a second each way: one protect and one unprotect per call every 20 ms.
const rows = cases.map((c) => {
  const b = best(samples.get(c.name)!);
  const m = median(samples.get(c.name)!);
  return {
    case: c.name, bestNs: Math.round(b), medianNs: Math.round(m),
    vsPlain: +(b / plainBest).toFixed(1), vsPlainSend: +(b / sendBest).toFixed(2), vsOurSrtp80: +(b / srtpBest).toFixed(2),
    coreShareAt1000Calls: +((b * 50 * 1000) / 1e9 * 100).toFixed(1),
  };
});
const load = loadavg().map((x) => +x.toFixed(2));
console.log(`bench:srtp — ${ROUNDS} rounds × ${PACKETS} packets per case; load average ${load.join(' ')}`);
console.log('| case | best ns | median ns | × plain build | × plain build+send | × our SRTP 80 | % of a core at 1,000 calls |');
console.log('|------|--------:|----------:|--------:|--------:|--------:|--------:|');
for (const r of rows) console.log(`| ${r.case} | ${r.bestNs} | ${r.medianNs} | ${r.vsPlain} | ${r.vsPlainSend} | ${r.vsOurSrtp80} | ${r.coreShareAt1000Calls} |`);
console.log('Ratios and core shares from the best round; a call costs one protect and one unprotect per 20 ms.');
if (process.argv.includes('--json')) console.log(JSON.stringify({ packets: PACKETS, rounds: ROUNDS, loadavg: load, rows }));
