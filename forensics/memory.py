#!/usr/bin/env python3
"""memory.py: a guest's physical memory, as a flat (sparse) file whose offsets are its physical
addresses, from the QEMU migration stream of a live snapshot (`decoynet snapshot`: QEMU copies
the RAM while the guest runs on, pages dirtied meanwhile are sent again, and the guest stops
only for the last ones and its devices).

    memory.py STREAM OUTPUT        prints {"ram_bytes", "pages", "zero_pages", "seconds"} as JSON

Only the main RAM block (`pc.ram`) is kept, laid out as QEMU's pc and q35 machines lay it out:
below the PCI hole up to the machine's low-memory limit, the rest from 4 GiB. Pages sent again
overwrite the earlier copy, so the file holds the memory at the moment the guest stopped. The
stream is QEMU 7.2's format 3 (precopy; no xbzrle, compression or multifd, which decoynet never
turns on); anything else is refused, naming what was met.
"""
import json
import os
import struct
import sys
import time

MAGIC, VERSION = 0x5145564D, 3
EOF_, START, PART, END, FULL, CONFIGURATION, FOOTER = 0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x7E
FLAG_ZERO, FLAG_MEM_SIZE, FLAG_PAGE, FLAG_EOS, FLAG_CONTINUE = 0x02, 0x04, 0x08, 0x10, 0x20
FLAG_XBZRLE, FLAG_COMPRESS_PAGE = 0x40, 0x100
PAGE = 4096
GIB = 1 << 30


def fail(message):
    print("memory.py: " + message, file=sys.stderr)
    sys.exit(2)


class Stream:
    def __init__(self, handle):
        self.handle = handle

    def take(self, count):
        data = self.handle.read(count)
        if len(data) != count:
            fail("the stream ends early (%d of %d bytes at offset %d): the snapshot did not complete" % (len(data), count, self.handle.tell()))
        return data

    def u8(self):
        return self.take(1)[0]

    def be32(self):
        return struct.unpack(">I", self.take(4))[0]

    def be64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def name(self):
        return self.take(self.u8()).decode("ascii", "replace")


def low_memory_limit(machine, ram_bytes):
    """Where QEMU ends guest RAM below 4 GiB (hw/i386/pc_q35.c and pc_piix.c)."""
    if "q35" in machine:
        return 0x80000000 if ram_bytes >= 0xB0000000 else 0xB0000000
    return 0xC0000000 if ram_bytes >= 0xE0000000 else 0xE0000000


def convert(stream_path, output_path):
    started = time.monotonic()
    with open(stream_path, "rb") as source:
        stream = Stream(source)
        if stream.be32() != MAGIC or stream.be32() != VERSION:
            fail(f"{stream_path} is not a QEMU migration stream of version 3")
        machine = ""
        sections = {}
        blocks = {}
        pages = zeros = 0
        written = set()
        # The block of the last page sent: a page marked CONTINUE is of it, across sections too.
        block = None
        out = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            ram_done = False
            while not ram_done:
                kind = stream.u8()
                if kind == CONFIGURATION:
                    machine = stream.take(stream.be32()).decode("ascii", "replace")
                    continue
                if kind in (START, FULL):
                    section = stream.be32()
                    sections[section] = stream.name()
                    stream.be32()  # instance
                    stream.be32()  # version
                elif kind in (PART, END):
                    section = stream.be32()
                elif kind == FOOTER:
                    stream.be32()
                    continue
                elif kind == EOF_:
                    break
                else:
                    fail("unexpected section type 0x%02x at offset %d" % (kind, source.tell() - 1))
                name = sections.get(section, "?")
                if name != "ram":
                    # A device's state: RAM comes before the devices, so the memory is whole here.
                    if kind == FULL:
                        break
                    fail(f"an iterative section '{name}' beside RAM: not a stream decoynet takes")
                while True:
                    header = stream.be64()
                    flags, address = header & (PAGE - 1), header & ~(PAGE - 1)
                    if flags & FLAG_MEM_SIZE:
                        total, seen = address, 0
                        while seen < total:
                            block_name = stream.name()
                            length = stream.be64()
                            blocks[block_name] = length
                            seen += length
                        continue
                    if flags & (FLAG_XBZRLE | FLAG_COMPRESS_PAGE):
                        fail("the stream has compressed pages (xbzrle or compress): decoynet turns these off; take the snapshot again")
                    if flags & (FLAG_ZERO | FLAG_PAGE):
                        if not flags & FLAG_CONTINUE:
                            block = stream.name()
                        if flags & FLAG_ZERO:
                            fill = stream.u8()
                            data = None if fill == 0 else bytes([fill]) * PAGE
                        else:
                            data = stream.take(PAGE)
                        if block == "pc.ram":
                            offset = physical(address, machine, blocks.get("pc.ram", 0))
                            if data is None:
                                zeros += 1
                                # A page that was sent before and is zero now must read as zero;
                                # one never written is a hole of the sparse file, zero already.
                                if offset in written:
                                    os.pwrite(out, bytes(PAGE), offset)
                                    written.discard(offset)
                            else:
                                pages += 1
                                os.pwrite(out, data, offset)
                                written.add(offset)
                        continue
                    if flags & FLAG_EOS:
                        break
                    fail("unknown RAM flags 0x%x at offset %d" % (flags, source.tell() - 8))
                if kind == END:
                    ram_done = True
            if "pc.ram" not in blocks:
                fail(f"no pc.ram in the stream (blocks: {', '.join(sorted(blocks))})")
            ram = blocks["pc.ram"]
            end = physical(ram - PAGE, machine, ram) + PAGE
            os.ftruncate(out, max(end, os.fstat(out).st_size))
        finally:
            os.close(out)
    print(json.dumps({"machine": machine, "ram_bytes": blocks.get("pc.ram", 0), "pages": pages, "zero_pages": zeros,
                      "seconds": round(time.monotonic() - started, 2)}, sort_keys=True))


def physical(offset, machine, ram_bytes):
    low = low_memory_limit(machine, ram_bytes)
    return offset if offset < low else offset - low + 4 * GIB


def main():
    if len(sys.argv) != 3:
        fail("usage: memory.py STREAM OUTPUT")
    convert(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()
