// Stack spike (issue 11): N offer/answer pairs of one WebRTC stack in one process, PCMU at 50 packets/s
// each way per pair for SECS seconds; prints CPU per packet (send + receive, SRTP both ways). Run:
//   node bench/spike/<file> PAIRS SECS   (werift is not a dependency: `npm i --no-save werift@0.24.4` first)
import { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack } from 'werift';
const N = Number(process.argv[2] ?? 20), SECS = Number(process.argv[3] ?? 10);
const codecs = () => ({ audio: [new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0 })], video: [] });
const mk = () => new RTCPeerConnection({ codecs: codecs(), iceUseIpv4: true, iceUseIpv6: false, iceAdditionalHostAddresses: [], iceFilterCandidatePair: undefined });
let rx = 0; const setups = [];
const pairs = [];
async function pair() {
  const t0 = performance.now();
  const a = mk(), b = mk();
  const ta = new MediaStreamTrack({ kind: 'audio' }); const tb = new MediaStreamTrack({ kind: 'audio' });
  a.addTransceiver(ta, { direction: 'sendrecv' });
  b.onTransceiverAdded.subscribe((tr) => { tr.setDirection('sendrecv'); tr.sender.replaceTrack(tb); tr.onTrack.subscribe((t) => t.onReceiveRtp.subscribe(() => rx++)); });
  const tra = a.getTransceivers()[0]; tra.onTrack.subscribe((t) => t.onReceiveRtp.subscribe(() => rx++));
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await new Promise((res) => { const chk = () => a.connectionState === 'connected' && b.connectionState === 'connected'; if (chk()) return res(); const s = () => chk() && res(); a.connectionStateChange.subscribe(s); b.connectionStateChange.subscribe(s); });
  setups.push(performance.now() - t0);
  pairs.push({ a, b, ta, tb, seq: 0, ts: 0, ssrcA: 1000 + pairs.length, ssrcB: 5000 + pairs.length });
}
for (let i = 0; i < N; i++) await pair();
const payload = Buffer.alloc(160, 0xff);
function rtp(seq, ts, ssrc) { const b = Buffer.alloc(172); b[0] = 0x80; b[1] = 0; b.writeUInt16BE(seq & 0xffff, 2); b.writeUInt32BE(ts >>> 0, 4); b.writeUInt32BE(ssrc, 8); payload.copy(b, 12); return b; }
const c0 = process.cpuUsage(); const w0 = performance.now(); let sent = 0;
const timer = setInterval(() => { for (const p of pairs) { p.ta.writeRtp(rtp(p.seq, p.ts, p.ssrcA)); p.tb.writeRtp(rtp(p.seq, p.ts, p.ssrcB)); p.seq++; p.ts += 160; sent += 2; } }, 20);
await new Promise((r) => setTimeout(r, SECS * 1000)); clearInterval(timer);
await new Promise((r) => setTimeout(r, 300));
const c = process.cpuUsage(c0); const wall = performance.now() - w0;
setups.sort((x, y) => x - y);
console.log(JSON.stringify({ stack: 'werift', pairs: N, cpu_core_fraction_total: +((c.user + c.system) / 1000 / wall).toFixed(3), per_endpoint_ms_per_s: +((c.user + c.system) / 1000 / wall * 1000 / (2 * N)).toFixed(3), sent, rx, loss: 1 - rx / sent, setup_p50: setups[Math.floor(N / 2)].toFixed(1), rss_mb: Math.round(process.memoryUsage().rss / 1e6), cpu_us_per_packet: +(((c.user + c.system)) / (sent + rx)).toFixed(1) }));
process.exit(0);
