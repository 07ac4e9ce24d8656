/**
 * The SIP stack answering every call, as a process of its own so that the
 * benchmark can read its CPU time alone: prints `{"port":N,"pid":P}` when
 * listening; exits on SIGTERM. `--transport tcp` answers over TCP (the port
 * printed is the TCP one; UDP listens too, as in production).
 */
import { TcpTransport, UdpTransport, UserAgent, type Transport } from '../../sip/index.js';

const SDP = 'v=0\r\no=warmline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n';

const tcp = process.argv.includes('--transport') && process.argv[process.argv.indexOf('--transport') + 1] === 'tcp';
const udp = await UdpTransport.bind('127.0.0.1', 0);
const transports: Transport[] = tcp ? [await TcpTransport.bind('127.0.0.1', 0), udp] : [udp];
const transport = transports[0]!;
const ua = new UserAgent({ transport: transports });
let answered = 0;
// A caller whose ACK is lost under load makes the UA send a BYE that times out, and that rejection
// escapes the UA (issue 9, item 1, fixed in sip/ua): counted here so a measurement survives it.
let unhandled = 0;
process.on('unhandledRejection', () => { unhandled++; });
ua.on('invite', (call) => {
  answered++;
  call.answer(SDP).catch(() => undefined);
});
process.stdout.write(`${JSON.stringify({ port: transport.local.port, pid: process.pid })}\n`);
// SIGUSR2: a snapshot for the benchmark (calls still held by the stack, heap after a full GC when --expose-gc is on).
process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const mb = (n: number) => Math.round(n / 104857.6) / 10;
  process.stdout.write(`${JSON.stringify({ answered, active_calls: ua.activeCalls, heap_used_mb: mb(m.heapUsed), heap_total_mb: mb(m.heapTotal), external_mb: mb(m.external), array_buffers_mb: mb(m.arrayBuffers), rss_mb: mb(m.rss), unhandled_rejections: unhandled, stats: transport.stats })}\n`);
});
process.on('SIGTERM', () => {
  void ua.close().then(() => Promise.all(transports.map((t) => t.close()))).then(() => process.exit(0));
});
