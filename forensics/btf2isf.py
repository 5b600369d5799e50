#!/usr/bin/env python3
"""btf2isf.py: a Volatility 3 symbol table (ISF, JSON) for a Linux x86_64 kernel, made from the
kernel image alone: its BTF (types) and its kallsyms (symbol addresses), without DWARF or a
System.map (Debian's packages ship a placeholder System.map and keep DWARF in -dbg packages of
hundreds of MB). `decoynet image build` runs it for each kernel of an image (cached by digest).

Inputs (any of):
  --bzimage /boot/vmlinuz-X     extract vmlinux ELF from bzImage (gzip/xz/lzma/bzip2/zstd/lz4)
  --vmlinux vmlinux             ELF vmlinux (stripped is fine: uses .BTF + in-image kallsyms)
  --btf /sys/kernel/btf/vmlinux raw BTF blob (overrides .BTF section)
  --system-map System.map       symbol addresses (overrides kallsyms)
  --banner "Linux version ..."  override banner (else found in the image)
Output: -o out.json[.xz]

Only stdlib is needed (zstd/lz4 payloads use the `zstd`/`unlz4` CLIs).
"""
import argparse, base64, bz2, gzip, json, lzma, struct, subprocess, sys, zlib

# ---------------------------------------------------------------- vmlinux extraction
MAGICS = [  # (magic, name) as in scripts/extract-vmlinux
    (b"\x1f\x8b\x08", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"),
    (b"\x5d\x00\x00\x00", "lzma"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\x02\x21\x4c\x18", "lz4"),
]


def _decompress(kind, data):
    if kind == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS); return d.decompress(data)
    if kind == "xz":
        d = lzma.LZMADecompressor(lzma.FORMAT_XZ); return d.decompress(data)
    if kind == "lzma":
        d = lzma.LZMADecompressor(lzma.FORMAT_ALONE); return d.decompress(data)
    if kind == "bzip2":
        d = bz2.BZ2Decompressor(); return d.decompress(data)
    cmd = {"zstd": ["zstd", "-dc"], "lz4": ["unlz4", "-c"]}[kind]
    return subprocess.run(cmd, input=data, capture_output=True).stdout  # trailing garbage -> warning only


def extract_vmlinux(bz):
    if bz[:4] == b"\x7fELF":
        return bz
    for magic, kind in MAGICS:
        pos = bz.find(magic)
        while pos != -1:
            try:
                out = _decompress(kind, bz[pos:])
                if out[:4] == b"\x7fELF":
                    return out
            except Exception:
                pass
            pos = bz.find(magic, pos + 1)
    raise SystemExit("no ELF payload found in bzImage")


# ---------------------------------------------------------------- ELF
def elf_sections(elf):
    (e_shoff,) = struct.unpack_from("<Q", elf, 0x28)
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    raw = []
    for i in range(e_shnum):
        nm, typ, flags, addr, off, size = struct.unpack_from("<IIQQQQ", elf, e_shoff + i * e_shentsize)
        raw.append((nm, typ, addr, off, size))
    stroff = raw[e_shstrndx][3]
    secs = {}
    for nm, typ, addr, off, size in raw:
        name = elf[stroff + nm: elf.index(b"\0", stroff + nm)].decode()
        secs[name] = (addr, off, size, typ)
    return secs


# ---------------------------------------------------------------- kallsyms (6.1 layout, base-relative)
def find_kallsyms(elf, secs):
    """Locate kallsyms tables inside .rodata of a (stripped) vmlinux.
    Layout (scripts/kallsyms.c, v5.x-6.1): offsets[N] (s32), relative_base (u64), num_syms (u32),
    names, markers[(N+255)/256] (u32), token_table, token_index[256] (u16); labels 8-aligned."""
    r_addr, r_off, r_size, _ = secs[".rodata"]
    ro = elf[r_off:r_off + r_size]
    u16 = lambda o: struct.unpack_from("<H", ro, o)[0]
    u32 = lambda o: struct.unpack_from("<I", ro, o)[0]
    digits = b"0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00"
    d = ro.find(digits)
    while d != -1:
        found = None
        for ti in range((d + 8) & ~7, min(d + 0x10000, len(ro) - 512), 8):
            if u16(ti) != 0:
                continue
            t0 = d - u16(ti + 2 * 0x30)
            if t0 < 0 or t0 > d or t0 & 7:
                continue
            if all(u16(ti + 2 * (0x30 + k)) == d - t0 + 2 * k for k in range(10)):
                idx = [u16(ti + 2 * i) for i in range(256)]
                if idx == sorted(idx) and ro[t0 + idx[255]:].find(b"\0") < 64:
                    found = (t0, ti); break
        if found:
            break
        d = ro.find(digits, d + 1)
    if not d or d == -1 or not found:
        raise SystemExit("kallsyms token table not found")
    token_table, token_index = found
    idx = [u16(token_index + 2 * i) for i in range(256)]
    tokens = [ro[token_table + o: ro.index(b"\0", token_table + o)].decode("latin-1") for o in idx]
    def decode_names(start, n, expand=True):
        out, o = [], start
        for _ in range(n):
            ln = ro[o]
            if ln & 0x80:  # "big" symbols (6.1+)
                ln = (ln & 0x7F) | (ro[o + 1] << 7); o += 2
            else:
                o += 1
            if expand:
                out.append("".join(tokens[b] for b in ro[o:o + ln]))
            o += ln
        return out, o

    # kallsyms_relative_base (u64, kernel text address) followed by kallsyms_num_syms (u32), then names.
    # Between markers and token_table there may be kallsyms_seqs_of_names (3*N bytes; 6.2+, backported
    # to 6.1.y), so we validate via the markers that follow the names instead of walking back.
    for P in range(8, token_table, 8):
        if ro[P - 1] != 0xFF or ro[P - 4:P] != b"\xff\xff\xff\xff":
            continue
        n = u32(P)
        if not (1000 < n < 2000000) or u32(P + 4) != 0:
            continue
        try:
            _, end = decode_names(P + 8, n, expand=False)
        except IndexError:
            continue
        m = (end + 7) & ~7
        nmark = (n + 255) // 256
        if m + 4 * nmark > token_table or u32(m) != 0:
            continue
        if nmark > 1 and decode_names(P + 8, 256, expand=False)[1] - (P + 8) != u32(m + 4):
            continue
        names, _ = decode_names(P + 8, n)
        rel_base = struct.unpack_from("<Q", ro, P - 8)[0]
        offs_start = (P - 8 - 4 * n) & ~7
        offsets = struct.unpack_from("<%di" % n, ro, offs_start)
        syms = {}
        for name, off in zip(names, offsets):
            addr = off if off >= 0 else rel_base - 1 - off  # CONFIG_KALLSYMS_ABSOLUTE_PERCPU
            typ, nm = name[0], name[1:]
            syms.setdefault(nm, (addr, typ))
        info = dict(num_syms=n, kallsyms_num_syms=r_addr + P, kallsyms_names=r_addr + P + 8, kallsyms_markers=r_addr + m,
                    kallsyms_token_table=r_addr + token_table, kallsyms_token_index=r_addr + token_index,
                    kallsyms_offsets=r_addr + offs_start, kallsyms_relative_base=rel_base)
        return syms, info
    raise SystemExit("kallsyms_num_syms not found")


def read_system_map(path):
    syms = {}
    for line in open(path):
        parts = line.split()
        if len(parts) >= 3:
            syms.setdefault(parts[2], (int(parts[0], 16), parts[1]))
    return syms


# ---------------------------------------------------------------- BTF
K_INT, K_PTR, K_ARRAY, K_STRUCT, K_UNION, K_ENUM, K_FWD, K_TYPEDEF, K_VOLATILE, K_CONST, K_RESTRICT, \
    K_FUNC, K_FUNC_PROTO, K_VAR, K_DATASEC, K_FLOAT, K_DECL_TAG, K_TYPE_TAG, K_ENUM64 = range(1, 20)


def parse_btf(b):
    magic, ver, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<HBBIIIII", b, 0)
    assert magic == 0xEB9F, "not BTF"
    ts, ss = hdr_len + type_off, hdr_len + str_off
    strs = b[ss:ss + str_len]
    s = lambda o: strs[o:strs.index(b"\0", o)].decode()
    types = [None]  # id 0 = void
    o, end = ts, ts + type_len
    while o < end:
        name_off, info, size = struct.unpack_from("<III", b, o); o += 12
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
        t = {"kind": kind, "name": s(name_off), "size": size, "vlen": vlen, "kflag": kflag}
        if kind == K_INT:
            (enc,) = struct.unpack_from("<I", b, o); o += 4
            t.update(encoding=(enc >> 24) & 0xF, bits=enc & 0xFF, bitoff=(enc >> 16) & 0xFF)
        elif kind == K_ARRAY:
            t["elem"], t["index"], t["nelems"] = struct.unpack_from("<III", b, o); o += 12
        elif kind in (K_STRUCT, K_UNION):
            mem = []
            for _ in range(vlen):
                mn, mt, moff = struct.unpack_from("<III", b, o); o += 12
                if kflag:
                    mem.append((s(mn), mt, moff & 0xFFFFFF, moff >> 24))
                else:
                    mem.append((s(mn), mt, moff, 0))
            t["members"] = mem
        elif kind == K_ENUM:
            vals = []
            for _ in range(vlen):
                en, ev = struct.unpack_from("<Ii", b, o); o += 8
                vals.append((s(en), ev))
            t["values"] = vals
        elif kind == K_ENUM64:
            vals = []
            for _ in range(vlen):
                en, lo, hi = struct.unpack_from("<III", b, o); o += 12
                v = (hi << 32) | lo
                if kflag and v >> 63:
                    v -= 1 << 64
                vals.append((s(en), v))
            t["values"] = vals
        elif kind == K_FUNC_PROTO:
            o += 8 * vlen
        elif kind == K_VAR:
            o += 4
        elif kind == K_DATASEC:
            t["vars"] = [struct.unpack_from("<III", b, o + 12 * i) for i in range(vlen)]; o += 12 * vlen
        elif kind == K_DECL_TAG:
            o += 4
        types.append(t)
    return types


# ---------------------------------------------------------------- ISF building
def build_isf(types, syms, banner, producer_note=""):
    QUAL = (K_TYPEDEF, K_VOLATILE, K_CONST, K_RESTRICT, K_TYPE_TAG, K_DECL_TAG)
    base_types = {
        "pointer": {"kind": "int", "size": 8, "signed": False, "endian": "little"},
        "void": {"kind": "void", "size": 0, "signed": False, "endian": "little"},
    }
    user_types, enums = {}, {}
    aggr_name, enum_name = {}, {}

    def strip(tid):
        while tid and types[tid]["kind"] in QUAL:
            tid = types[tid]["size"]
        return tid

    # name aggregates/enums (first definition wins; anonymous get unnamed_<id>)
    fwd_names = {}
    for tid, t in enumerate(types):
        if not t:
            continue
        k = t["kind"]
        if k in (K_STRUCT, K_UNION):
            aggr_name[tid] = t["name"] or "unnamed_btf_%d" % tid
        elif k in (K_ENUM, K_ENUM64):
            enum_name[tid] = t["name"] or "unnamed_enum_%d" % tid
        elif k == K_FWD:
            fwd_names[tid] = t["name"]

    def base_name(size, signed):
        return {(1, 0): "unsigned char", (1, 1): "signed char", (2, 0): "short unsigned int", (2, 1): "short int",
                (4, 0): "unsigned int", (4, 1): "int", (8, 0): "long unsigned int", (8, 1): "long int"}[(size, signed)]

    def need_base(name, size, signed, kind="int"):
        base_types.setdefault(name, {"kind": kind, "size": size, "signed": bool(signed), "endian": "little"})

    for n, sz, sg in [("unsigned char", 1, 0), ("signed char", 1, 1), ("short unsigned int", 2, 0), ("short int", 2, 1),
                      ("unsigned int", 4, 0), ("int", 4, 1), ("long unsigned int", 8, 0), ("long int", 8, 1)]:
        need_base(n, sz, sg)

    def tsize(tid):
        tid = strip(tid)
        if not tid:
            return 0
        t = types[tid]
        k = t["kind"]
        if k in (K_INT, K_STRUCT, K_UNION, K_ENUM, K_ENUM64, K_FLOAT):
            return t["size"]
        if k == K_PTR:
            return 8
        if k == K_ARRAY:
            return t["nelems"] * tsize(t["elem"])
        return 0

    def desc(tid):
        tid = strip(tid)
        if not tid:
            return {"kind": "base", "name": "void"}
        t = types[tid]
        k = t["kind"]
        if k == K_INT:
            name = t["name"]
            kind = "bool" if t["encoding"] & 4 else ("char" if (t["encoding"] & 2 or name == "char") else "int")
            need_base(name, t["size"], t["encoding"] & 1, kind)
            return {"kind": "base", "name": name}
        if k == K_FLOAT:
            need_base(t["name"], t["size"], 1, "float")
            return {"kind": "base", "name": t["name"]}
        if k == K_PTR:
            return {"kind": "pointer", "subtype": desc(t["size"])}
        if k == K_ARRAY:
            return {"kind": "array", "count": t["nelems"], "subtype": desc(t["elem"])}
        if k in (K_STRUCT, K_UNION):
            return {"kind": "struct" if k == K_STRUCT else "union", "name": aggr_name[tid]}
        if k in (K_ENUM, K_ENUM64):
            return {"kind": "enum", "name": enum_name[tid]}
        if k == K_FWD:
            kind = "union" if t["kflag"] else "struct"
            return {"kind": kind, "name": t["name"]}
        if k in (K_FUNC_PROTO, K_FUNC):
            return {"kind": "function"}
        return {"kind": "base", "name": "void"}

    for tid, t in enumerate(types):
        if not t:
            continue
        k = t["kind"]
        if k in (K_STRUCT, K_UNION):
            name = aggr_name[tid]
            if name in user_types and user_types[name]["size"]:
                continue
            fields, anon = {}, 0
            for mname, mtid, bitoff, bitsz in t["members"]:
                d = desc(mtid)
                entry = {}
                if bitsz == 0:
                    st = types[strip(mtid)] if strip(mtid) else None
                    if st and st["kind"] == K_INT and st["bits"] != 8 * st["size"] and st["bits"]:
                        bitsz = st["bits"]  # old-style int bitfield encoding
                if bitsz:
                    unit = tsize(mtid) or 4
                    uoff = (bitoff // (unit * 8)) * unit
                    pos = bitoff - uoff * 8
                    if pos + bitsz > unit * 8:  # straddles: byte granularity
                        uoff, pos = bitoff // 8, bitoff % 8
                    if d["kind"] not in ("base", "enum"):
                        d = {"kind": "base", "name": base_name(unit, 0)}
                    entry = {"offset": uoff, "type": {"kind": "bitfield", "bit_position": pos,
                                                      "bit_length": bitsz, "type": d}}
                else:
                    entry = {"offset": bitoff // 8, "type": d}
                if not mname:
                    if d["kind"] in ("struct", "union"):
                        entry["anonymous"] = True
                    mname = "unnamed_field_%x_%d" % (bitoff // 8, anon); anon += 1
                fields[mname] = entry
            user_types[name] = {"kind": "struct" if k == K_STRUCT else "union", "size": t["size"], "fields": fields}
        elif k in (K_ENUM, K_ENUM64):
            name = enum_name[tid]
            if name in enums:
                continue
            signed = any(v < 0 for _, v in t["values"]) or (k == K_ENUM and t["kflag"])
            size = t["size"] or 4
            bn = base_name(size, 1 if signed else 0)
            enums[name] = {"size": size, "base": bn, "constants": {n: v for n, v in t["values"]}}

    for tid, name in fwd_names.items():  # opaque forward-declared aggregates
        user_types.setdefault(name, {"kind": "union" if types[tid]["kflag"] else "struct", "size": 0, "fields": {}})

    # symbol types: BTF VARs (per-cpu vars in 6.1) + a curated list of globals plugins use
    var_types = {t["name"]: t["size"] for t in types[1:] if t["kind"] == K_VAR}
    S = lambda n: {"kind": "struct", "name": n}
    P = lambda d: {"kind": "pointer", "subtype": d}
    B = lambda n: {"kind": "base", "name": n}
    curated = {
        "init_task": S("task_struct"), "init_mm": S("mm_struct"), "init_files": S("files_struct"),
        "init_net": S("net"), "net_namespace_list": S("list_head"), "modules": S("list_head"),
        "socket_file_ops": S("file_operations"), "sockfs_dentry_operations": S("dentry_operations"),
        "mod_tree": S("mod_tree_root"), "module_kset": P(S("kset")), "tty_drivers": S("list_head"),
        "prb": P(S("printk_ringbuffer")), "log_buf": P(B("char")), "log_buf_len": B("unsigned int"),
        "cap_last_cap": B("int"), "prog_idr": S("idr"), "keyboard_notifier_list": S("atomic_notifier_head"),
        "ftrace_ops_list": P(S("ftrace_ops")), "ftrace_list_end": S("ftrace_ops"),
        "vmemmap_base": B("long unsigned int"), "page_offset_base": B("long unsigned int"),
        "idt_table": {"kind": "array", "count": 256, "subtype": S("gate_struct")},
        "init_top_pgt": {"kind": "array", "count": 512, "subtype": B("long unsigned int")},
        "super_blocks": S("list_head"), "init_pid_ns": S("pid_namespace"), "init_uts_ns": S("uts_namespace"),
        "jiffies": B("long unsigned int"), "jiffies_64": B("long long unsigned int"),
        "nr_cpu_ids": B("unsigned int"), "__per_cpu_offset": {"kind": "array", "count": 8192, "subtype": B("long unsigned int")},
        "mount_hashtable": P(S("hlist_head")), "init_fs": S("fs_struct"), "files_cachep": P(S("kmem_cache")),
        "registered_fb": {"kind": "array", "count": 32, "subtype": P(S("fb_info"))}, "num_registered_fb": B("int"),
        "sys_call_table": {"kind": "array", "count": 1, "subtype": P({"kind": "function"})},
        "ia32_sys_call_table": {"kind": "array", "count": 1, "subtype": P({"kind": "function"})},
        "bpf_kallsyms": S("list_head"), "module_addr_min": B("long unsigned int"),
        "module_addr_max": B("long unsigned int"), "ftrace_mod_maps": S("list_head"),
        "inet_protos": {"kind": "array", "count": 256, "subtype": P(S("net_protocol"))},
        "tainted_mask": B("long unsigned int"),
    }
    # Arrays whose length is the kernel's build constant: measured as the gap to the next symbol.
    if "taint_flags" in syms and "taint_flag" in user_types and user_types["taint_flag"]["size"]:
        start = syms["taint_flags"][0]
        after = min((a for a, _ in syms.values() if a > start), default=start)
        count = (after - start) // user_types["taint_flag"]["size"]
        if 0 < count < 64:
            curated["taint_flags"] = {"kind": "array", "count": count, "subtype": S("taint_flag")}
    need_base("long long unsigned int", 8, 0)
    need_base("char", 1, 1, "char")
    symbols = {}
    for name, (addr, typ) in syms.items():
        e = {"address": addr}
        if name in var_types:
            e["type"] = desc(var_types[name])
        elif name in curated:
            ct = curated[name]
            if ct.get("kind") != "struct" or ct["name"] in user_types:
                e["type"] = ct
        symbols[name] = e
    if banner is not None and "linux_banner" in symbols:
        symbols["linux_banner"]["constant_data"] = base64.b64encode(banner).decode()
        symbols["linux_banner"]["type"] = {"kind": "array", "count": len(banner), "subtype": B("char")}
    return {
        "metadata": {
            "format": "6.2.0",
            "producer": {"name": "decoynet-btf2isf", "version": "1.0.0"},
            "linux": {"symbols": [{"kind": "symtab", "name": producer_note or "kallsyms"}],
                      "types": [{"kind": "dwarf", "name": "btf"}]},
        },
        "base_types": base_types, "user_types": user_types, "enums": enums, "symbols": symbols,
    }


def find_banner(elf, secs):
    a, off, size, _ = secs[".rodata"]
    ro = elf[off:off + size]
    i = ro.find(b"Linux version ")
    while i != -1:
        j = ro.find(b"\0", i)
        s = ro[i:j + 1]
        if s.endswith(b"\n\0") and b"(" in s:
            return s, a + i
        i = ro.find(b"Linux version ", i + 1)
    return None, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bzimage"); ap.add_argument("--vmlinux"); ap.add_argument("--btf")
    ap.add_argument("--system-map"); ap.add_argument("--banner"); ap.add_argument("--save-vmlinux")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    elf = secs = None
    if a.bzimage:
        elf = extract_vmlinux(open(a.bzimage, "rb").read())
        if a.save_vmlinux:
            open(a.save_vmlinux, "wb").write(elf)
    elif a.vmlinux:
        elf = open(a.vmlinux, "rb").read()
    if elf:
        secs = elf_sections(elf)
    if a.btf:
        btf = open(a.btf, "rb").read()
    else:
        _, off, size, _ = secs[".BTF"]
        btf = elf[off:off + size]
    types = parse_btf(btf)
    print("BTF types: %d" % (len(types) - 1), file=sys.stderr)
    if a.system_map:
        syms, note = read_system_map(a.system_map), "System.map"
    else:
        syms, info = find_kallsyms(elf, secs)
        note = "kallsyms"
        print("kallsyms: " + ", ".join("%s=%#x" % kv for kv in info.items()), file=sys.stderr)
    print("symbols: %d" % len(syms), file=sys.stderr)
    if a.banner:
        banner = a.banner.encode() + b"\n\0" if not a.banner.endswith("\n") else a.banner.encode() + b"\0"
    else:
        banner = None
        if "linux_banner" in syms and elf:
            for sname in (".rodata", ".data"):
                sa, so, ssz, _ = secs[sname]
                la = syms["linux_banner"][0]
                if sa <= la < sa + ssz:
                    o = so + la - sa
                    banner = elf[o:elf.index(b"\0", o) + 1]
        if banner is None and elf:  # beware: .rodata may hold other "Linux version" strings
            banner, _ = find_banner(elf, secs)
    print("banner: %r" % banner, file=sys.stderr)
    isf = build_isf(types, syms, banner, note)
    data = json.dumps(isf, separators=(",", ":"), sort_keys=True).encode()
    if a.output.endswith(".xz") or a.output.endswith(".xz.part"):
        data = lzma.compress(data, preset=6)
    open(a.output, "wb").write(data)
    print("user_types=%d enums=%d base_types=%d symbols=%d -> %s (%d bytes)" % (
        len(isf["user_types"]), len(isf["enums"]), len(isf["base_types"]), len(isf["symbols"]), a.output, len(data)),
        file=sys.stderr)


if __name__ == "__main__":
    main()
