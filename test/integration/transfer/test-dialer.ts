import { PortAllocator, RtpSession, type G711 } from '../../../media/index.js';
import type { DialedLeg, TransferDialer, DialOptions } from '../../../src/calls/index.js';
import { RtpPeer } from '../../support/rtp-peer.js';

/**
 * Stands where outbound calling's dial() will (issue 12 item 1, built apart):
 * no SIP, but a real RTP session of the gateway's kind towards a real UDP
 * phone — the person the call is handed to — so the transfer's bridge runs
 * over real sockets. `answer: false` makes the target refuse, as a busy one would.
 */
export class TestDialer implements TransferDialer {
  answer = true;
  codec: G711 = 'PCMA';
  readonly dialed: Array<{ target: string; o: Omit<DialOptions, 'signal'> }> = [];
  phone: RtpPeer | undefined;
  leg: (DialedLeg & { farEndHangsUp(): void }) | undefined;
  readonly #ports: PortAllocator;

  constructor(base: number) {
    this.#ports = new PortAllocator(base, base + 19);
  }

  async dial(target: string, o: DialOptions): Promise<DialedLeg> {
    this.dialed.push({ target, o: { from: o.from, codecs: o.codecs, timeoutMs: o.timeoutMs } });
    if (!this.answer) throw new Error(`${target} answered 486 Busy Here`);
    const phone = await RtpPeer.bind();
    const port = this.#ports.allocate();
    const media = await RtpSession.open({
      port, bindAddress: '127.0.0.1', payloadType: this.codec === 'PCMU' ? 0 : 8, telephoneEventPt: 101,
      remote: { address: '127.0.0.1', port: phone.port }, rtcpIntervalMs: 1000,
    }, () => this.#ports.release(port));
    phone.target('127.0.0.1', port);
    let end: (why: string) => void = () => undefined;
    const ended = new Promise<string>((resolve) => { end = resolve; });
    let closed = false;
    const hangup = async () => {
      media.close();
      if (!closed) phone.close();
      closed = true;
      end('hangup');
    };
    this.phone = phone;
    this.leg = { media, codec: this.codec, hangup, ended, farEndHangsUp: () => { media.close(); end('bye'); } };
    return this.leg;
  }

  /** Ports of its own still held (0 once every dialed leg has ended). */
  get portsInUse(): number {
    return this.#ports.inUse;
  }
}
