// Stack spike (issue 11): N offer/answer pairs of one WebRTC stack in one process, PCMU at 50 packets/s
// each way per pair for SECS seconds; prints CPU per packet (send + receive, SRTP both ways). Run:
//   node bench/spike/<file> PAIRS SECS   (werift is not a dependency: `npm i --no-save werift@0.24.4` first)
import ndc from 'node-datachannel';
const N = Number(process.argv[2] ?? 20), SECS = Number(process.argv[3] ?? 10);
let rx = 0; const setups = []; const pairs = [];
async function pair(i) {
  const t0 = performance.now();
  const a = new ndc.PeerConnection('a' + i, { iceServers: [], bindAddress: '127.0.0.1', enableIceUdpMux: false });
  const b = new ndc.PeerConnection('b' + i, { iceServers: [], bindAddress: '127.0.0.1' });
  const au = new ndc.Audio('audio', 'SendRecv'); au.addAudioCodec(0, 'PCMU'); au.addSSRC(1000 + i, 'a', 'sa', 'ta');
  const ta = a.addTrack(au); ta.onMessage(() => rx++);
  let tb;
  b.onTrack((t) => { tb = t; t.onMessage(() => rx++); });
  const offer = await new Promise((res) => { a.onGatheringStateChange((s) => s === 'complete' && res(a.localDescription())); a.setLocalDescription(); });
  b.setRemoteDescription(offer.sdp, offer.type);
  const answer = await new Promise((res) => { const chk = () => b.gatheringState() === 'complete' && res(b.localDescription()); b.onGatheringStateChange(chk); chk(); });
  a.setRemoteDescription(answer.sdp, answer.type);
  await new Promise((res) => { const chk = () => a.state() === 'connected' && b.state() === 'connected' && ta.isOpen() && tb?.isOpen(); const iv = setInterval(() => chk() && (clearInterval(iv), res()), 1); });
  setups.push(performance.now() - t0);
  pairs.push({ a, b, ta, tb, seq: 0, ts: 0, ssrcA: 1000 + i, ssrcB: 5000 + i });
}
for (let i = 0; i < N; i++) await pair(i);
const payload = Buffer.alloc(160, 0xff);
function rtp(seq, ts, ssrc) { const b = Buffer.alloc(172); b[0] = 0x80; b[1] = 0; b.writeUInt16BE(seq & 0xffff, 2); b.writeUInt32BE(ts >>> 0, 4); b.writeUInt32BE(ssrc, 8); payload.copy(b, 12); return b; }
const c0 = process.cpuUsage(); const w0 = performance.now(); let sent = 0;
const timer = setInterval(() => { for (const p of pairs) { p.ta.sendMessageBinary(rtp(p.seq, p.ts, p.ssrcA)); p.tb.sendMessageBinary(rtp(p.seq, p.ts, p.ssrcB)); p.seq++; p.ts += 160; sent += 2; } }, 20);
await new Promise((r) => setTimeout(r, SECS * 1000)); clearInterval(timer);
await new Promise((r) => setTimeout(r, 300));
const c = process.cpuUsage(c0); const wall = performance.now() - w0;
setups.sort((x, y) => x - y);
console.log(JSON.stringify({ stack: 'node-datachannel', pairs: N, cpu_core_fraction_total: +((c.user + c.system) / 1000 / wall).toFixed(3), per_endpoint_ms_per_s: +((c.user + c.system) / 1000 / wall * 1000 / (2 * N)).toFixed(3), sent, rx, loss: 1 - rx / sent, setup_p50: setups[Math.floor(N / 2)].toFixed(1), rss_mb: Math.round(process.memoryUsage().rss / 1e6), cpu_us_per_packet: +(((c.user + c.system)) / (sent + rx)).toFixed(1) }));
for (const p of pairs) { p.a.close(); p.b.close(); }
ndc.cleanup();
process.exit(0);
