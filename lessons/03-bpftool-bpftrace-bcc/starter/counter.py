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

# bcc's C dialect: write the XDP function and its map here. bcc compiles this text with its
# own clang, against the running kernel's headers, every time the script starts.
PROGRAM = r"""
#include <uapi/linux/bpf.h>

"""


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: counter.py INTERFACE")
    dev = sys.argv[1]
    started = time.monotonic()
    b = BPF(text=PROGRAM)
    # load the function, attach it to dev, say "counting ...", wait for Ctrl-C
    # (KeyboardInterrupt), detach, and print the total
    print(f"nothing attached to {dev}: counter.py is not written yet", flush=True)


if __name__ == "__main__":
    main()
