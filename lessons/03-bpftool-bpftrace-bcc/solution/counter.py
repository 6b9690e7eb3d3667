#!/usr/bin/python3
"""Lesson 3: lesson 1's packet counter, the bcc way.

Run it inside sut (bcc attaches to an interface of the namespace it runs in):
    eclat-lab exec sut -- /usr/bin/python3 counter.py enp6s0f1
Contract (what `lesson check 3 bcc-counter` relies on):
  - argv[1] names the interface; the program counts every packet arriving there and
    passes it on (XDP_PASS);
  - once attached it prints a line with "counting" (and how long it took to start);
  - on Ctrl-C it detaches and prints "packets: N", N the total over every CPU.
"""
import sys
import time

from bcc import BPF

# bcc's C dialect: the map is declared with a macro, read with a method; bcc compiles this
# text with its own clang, against the running kernel's headers, every time it starts.
PROGRAM = r"""
#include <uapi/linux/bpf.h>

BPF_PERCPU_ARRAY(pkt_count, u64, 1);

int count_packets(struct xdp_md *ctx)
{
    u32 zero = 0;
    u64 *n = pkt_count.lookup(&zero);

    if (n)
        *n += 1;
    return XDP_PASS;
}
"""


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: counter.py INTERFACE")
    dev = sys.argv[1]
    started = time.monotonic()
    b = BPF(text=PROGRAM)
    fn = b.load_func("count_packets", BPF.XDP)
    b.attach_xdp(dev, fn, 0)
    ms = (time.monotonic() - started) * 1000
    print(f"counting packets on {dev} (compiled, loaded and attached in {ms:.0f} ms); "
          "Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        b.remove_xdp(dev, 0)
    # a per-CPU map gives one value per CPU
    total = sum(b["pkt_count"][0])
    print(f"packets: {total}", flush=True)


if __name__ == "__main__":
    main()
