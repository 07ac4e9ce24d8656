#!/usr/bin/env python3
"""Userspace delayed link between two TAP devices (stdlib only).

Why: this kernel has no sch_netem ("tc qdisc add ... netem" answers "Specified qdisc
kind is unknown"), so the delay is added here: every Ethernet frame read from one TAP
is written to the other after DELAY_MS, in arrival order per direction.

Usage: delay-forwarder.py TAP_A TAP_B DELAY_MS
Creates both TAP devices in the caller's network namespace (IFF_TAP|IFF_NO_PI, not
persistent: they vanish when this process exits), prints "ready" on stdout, and runs
until stdin closes (the parent died or asked it to stop) or SIGTERM.
"""
import fcntl
import heapq
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
MAX_FRAME = 65536
# Frames queued per direction before drops: a real link also has a finite buffer, and
# this bounds memory when a sender outruns the link.
MAX_QUEUED = 20000


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def main():
    if len(sys.argv) != 4:
        sys.stderr.write("usage: delay-forwarder.py TAP_A TAP_B DELAY_MS\n")
        return 2
    name_a, name_b, delay_ms = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if delay_ms < 0:
        sys.stderr.write("DELAY_MS must be >= 0\n")
        return 2
    delay = delay_ms / 1000.0
    fd_a = open_tap(name_a)
    fd_b = open_tap(name_b)
    peer = {fd_a: fd_b, fd_b: fd_a}
    queued = {fd_a: 0, fd_b: 0}
    heap = []  # (release_time, seq, destination fd, frame)
    seq = 0
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    stdin = sys.stdin.fileno()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    poller = select.epoll()
    poller.register(fd_a, select.EPOLLIN)
    poller.register(fd_b, select.EPOLLIN)
    poller.register(stdin, select.EPOLLIN | select.EPOLLHUP)
    while not stop[0]:
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, dst, frame = heapq.heappop(heap)
            queued[dst] -= 1
            try:
                os.write(dst, frame)
            except (BlockingIOError, OSError):
                pass  # the device went away or is full: a dropped frame, as on a wire
        timeout = max(0.0, heap[0][0] - time.monotonic()) if heap else 1.0
        try:
            events = poller.poll(timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd, ev in events:
            if fd == stdin:
                if not os.read(stdin, 4096):
                    return 0
                continue
            while True:
                try:
                    frame = os.read(fd, MAX_FRAME)
                except BlockingIOError:
                    break
                if not frame:
                    break
                dst = peer[fd]
                if queued[dst] >= MAX_QUEUED:
                    continue
                seq += 1
                queued[dst] += 1
                heapq.heappush(heap, (now + delay, seq, dst, frame))
    return 0


if __name__ == "__main__":
    sys.exit(main())
