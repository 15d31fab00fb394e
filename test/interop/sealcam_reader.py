"""Independent sealcam wire-protocol reader (version 1), for interoperability testing.

Written from docs/PROTOCOL.md and test/vectors/segments.json alone, without reading the
reference implementation (src/) or its tests. It is a small viewer: a pinned camera, the
viewer's own box secret, an epoch keyring (§5.4), stream state (§8), segment opening (§6.3),
live chunks and seals (§7), rosters (§4) and transport reassembly (§10).

Requirements: Python 3.11 standard library and libsodium (loaded through ctypes).

Run from the repository root:

    python3 test/interop/sealcam_reader.py test/vectors/segments.json

It prints one JSON report to stdout. Exit status: 0 if every case passed, 1 if any failed,
3 if libsodium could not be loaded.
"""

import ctypes
import ctypes.util
import hashlib
import json
import sys

U53 = 2**53 - 1
MIB64 = 64 * 1024 * 1024
CTX_ID = b"sealcam/id/v1\x00"
CTX_ROSTER = b"sealcam/roster/v1\x00"
CTX_EPOCH = b"sealcam/epoch/v1\x00"
CTX_SEGMENT = b"sealcam/segment/v1\x00"


class SealcamError(Exception):
    """A rejection carrying one stable error code string (§9)."""

    def __init__(self, code, message=""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


# ---------------------------------------------------------------- libsodium through ctypes

def load_sodium():
    for name in (ctypes.util.find_library("sodium"), "libsodium.so.23"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if lib.sodium_init() < 0:
            continue
        return lib
    return None


SODIUM = None
ULL = ctypes.c_ulonglong


def ed25519_verify(sig, msg, pk):
    return SODIUM.crypto_sign_verify_detached(sig, msg, ULL(len(msg)), pk) == 0


def x25519(scalar, point):
    """X25519(scalar, point), or None when the output is all zero (libsodium returns -1)."""
    out = ctypes.create_string_buffer(32)
    if SODIUM.crypto_scalarmult(out, scalar, point) != 0 or out.raw == bytes(32):
        return None
    return out.raw


def box_open(ct, nonce, their_pk, my_sk):
    if len(ct) < 16:
        return None
    out = ctypes.create_string_buffer(max(len(ct) - 16, 1))
    rc = SODIUM.crypto_box_open_easy(out, ct, ULL(len(ct)), nonce, their_pk, my_sk)
    return out.raw[: len(ct) - 16] if rc == 0 else None


def secretbox_open(ct, nonce, key):
    if len(ct) < 16:
        return None
    out = ctypes.create_string_buffer(max(len(ct) - 16, 1))
    rc = SODIUM.crypto_secretbox_open_easy(out, ct, ULL(len(ct)), nonce, key)
    return out.raw[: len(ct) - 16] if rc == 0 else None


# ---------------------------------------------------------------- helpers

def be(b):
    return int.from_bytes(b, "big")


class Reader:
    """Reads fixed fields; any read past the end is E_MALFORMED (§1.6)."""

    def __init__(self, data):
        self.data = data

    def at(self, off, n):
        if off + n > len(self.data):
            raise SealcamError("E_MALFORMED", "truncated")
        return self.data[off : off + n]

    def u(self, off, n):
        return be(self.at(off, n))


def compute_id(sign_pk, box_pk):
    return hashlib.sha512(CTX_ID + sign_pk + box_pk).digest()[:16]


def accept_public_identity(sign_pk, box_pk):
    """§2 'Accepting a public identity'."""
    if len(sign_pk) != 32 or len(box_pk) != 32:
        raise SealcamError("E_BAD_KEY")
    if x25519(b"\x5a" * 32, box_pk) is None:
        raise SealcamError("E_LOW_ORDER_POINT")
    return compute_id(sign_pk, box_pk)


# ---------------------------------------------------------------- §4 roster

def open_roster(data, owner_sign_pk):
    r = Reader(data)
    if len(data) < 4:
        raise SealcamError("E_MALFORMED")
    if data[0:4] != b"SCR1":
        raise SealcamError("E_BAD_MAGIC")
    if r.u(4, 1) != 1:
        raise SealcamError("E_UNSUPPORTED_VERSION")
    if r.u(5, 1) != 0:
        raise SealcamError("E_UNKNOWN_FLAGS")
    n = r.u(6, 2)
    if not 1 <= n <= 64:
        raise SealcamError("E_MALFORMED", "count")
    if r.u(28, 8) > U53 or len(data) != 100 + 64 * n:
        raise SealcamError("E_MALFORMED")
    body_end = 36 + 64 * n
    if not ed25519_verify(data[body_end:], CTX_ROSTER + data[:body_end], owner_sign_pk):
        raise SealcamError("E_ROSTER_SIGNATURE")
    entries = [(data[36 + 64 * j : 68 + 64 * j], data[68 + 64 * j : 100 + 64 * j]) for j in range(n)]
    if entries[0][0] != owner_sign_pk:
        raise SealcamError("E_MALFORMED", "entry 0 is not the owner")
    for _, box_pk in entries:
        if x25519(b"\x5a" * 32, box_pk) is None:
            raise SealcamError("E_LOW_ORDER_POINT")
    return {"cameraId": data[8:24], "rosterVersion": r.u(24, 4), "issuedAt": r.u(28, 8), "entries": entries}


# ---------------------------------------------------------------- §5.4 keyring

class EpochKeyring:
    def __init__(self, capacity=8):
        self.capacity, self.keys = capacity, {}

    def add(self, epoch, key):
        if epoch in self.keys:
            if self.keys[epoch] != key:
                raise SealcamError("E_STALE_EPOCH", "different key for a held epoch")
            return
        if self.keys and epoch + self.capacity <= max(self.keys):
            raise SealcamError("E_STALE_EPOCH", "epoch older than the keyring keeps")
        self.keys[epoch] = bytes(key)
        top = max(self.keys)
        for e in [e for e in self.keys if e <= top - self.capacity]:
            del self.keys[e]

    def get(self, epoch):
        return self.keys.get(epoch)


# ---------------------------------------------------------------- §8 stream state

class StreamState:
    def __init__(self, max_forward_jump=10_000):
        self.highest_seq, self.highest_epoch = None, 0
        self.window, self.final_seen = 0, False
        self.max_forward_jump = max_forward_jump

    def check(self, seq, epoch):
        if self.highest_seq is None:
            return "first"
        if seq > self.highest_seq:
            delta = seq - self.highest_seq
            if delta > self.max_forward_jump:
                raise SealcamError("E_FORWARD_JUMP")
            if epoch < self.highest_epoch:
                raise SealcamError("E_EPOCH_ROLLBACK")
            return "next" if delta == 1 else "gap"
        age = self.highest_seq - seq
        if age >= 128 or (self.window >> age) & 1:
            raise SealcamError("E_REPLAY")
        raise SealcamError("E_REORDERED")

    def commit(self, seq, epoch, final):
        shift = 128 if self.highest_seq is None else seq - self.highest_seq
        self.window = 1 if shift >= 128 else ((self.window << shift) | 1) % 2**128
        self.highest_seq = seq
        self.highest_epoch = max(self.highest_epoch, epoch)
        self.final_seen = final

    def assert_complete(self):
        if self.highest_seq is not None and not self.final_seen:
            raise SealcamError("E_TRUNCATED")


# ---------------------------------------------------------------- §6 segment header, §6.2 inner header

def parse_segment_header(data):
    """§6.3 steps 1.2 to 1.12 on the first 80 bytes (caller checked len >= 144)."""
    h = data[:80]
    if h[0:4] != b"SCS1":
        raise SealcamError("E_BAD_MAGIC")
    if h[4] != 1:
        raise SealcamError("E_UNSUPPORTED_VERSION")
    if h[5] not in (1, 2):
        raise SealcamError("E_UNKNOWN_KIND")
    if h[6] & 0xFE:
        raise SealcamError("E_UNKNOWN_FLAGS")
    if h[7] != 0:
        raise SealcamError("E_MALFORMED", "reserved")
    f = {"kind": h[5], "final": bool(h[6] & 1), "cameraId": h[8:24], "epoch": be(h[24:28]),
         "seq": be(h[28:36]), "captureTime": be(h[36:44]), "durationMs": be(h[44:48]),
         "chunkCount": be(h[48:52]), "bodyLength": be(h[52:56]), "nonce": h[56:80]}
    if f["seq"] > U53 or f["captureTime"] > U53:
        raise SealcamError("E_MALFORMED", "u64 above 2^53-1")
    if f["epoch"] == 0:
        raise SealcamError("E_MALFORMED", "epoch 0")
    if not 1 <= f["chunkCount"] <= 4096:
        raise SealcamError("E_MALFORMED", "chunkCount")
    if f["bodyLength"] > MIB64 or f["bodyLength"] < 68 * f["chunkCount"]:
        raise SealcamError("E_MALFORMED", "bodyLength")
    check_nonce(f["nonce"], f["seq"])
    return f


def check_nonce(nonce, seq):
    if nonce[12:20] != seq.to_bytes(8, "big") or nonce[20:24] != bytes(4):
        raise SealcamError("E_MALFORMED", "nonce structure")


def chunk_nonce(nonce, i):
    return nonce[0:20] + i.to_bytes(4, "big")


def check_inner(pt, kind, last, camera_id, epoch, seq, capture_time, i):
    """§6.3 step 6; returns payload_i."""
    expect = (b"SCI1" + bytes([kind, 1 if last else 0]) + b"\0\0" + camera_id
              + epoch.to_bytes(4, "big") + seq.to_bytes(8, "big")
              + capture_time.to_bytes(8, "big") + i.to_bytes(4, "big"))
    if len(pt) < 48 or pt[:48] != expect:
        raise SealcamError("E_INNER_HEADER", f"chunk {i}")
    return pt[48:]


def split_body(body, chunk_count):
    """§6.3 step 5 framing: the whole body is split before any chunk is opened."""
    cts, off = [], 0
    for _ in range(chunk_count):
        if off + 4 > len(body):
            raise SealcamError("E_MALFORMED", "frame overruns body")
        n = be(body[off : off + 4])
        if n < 64 or off + 4 + n > len(body):
            raise SealcamError("E_MALFORMED", "bad ctLength")
        cts.append(body[off + 4 : off + 4 + n])
        off += 4 + n
    if off != len(body):
        raise SealcamError("E_MALFORMED", "trailing body bytes")
    return cts


# ---------------------------------------------------------------- §7.2 live chunk

def parse_live_chunk(data):
    r = Reader(data)
    if len(data) < 4:
        raise SealcamError("E_MALFORMED")
    if data[0:4] != b"SCL1":
        raise SealcamError("E_BAD_MAGIC")
    if r.u(4, 1) != 1:
        raise SealcamError("E_UNSUPPORTED_VERSION")
    if r.u(5, 1) not in (1, 2):
        raise SealcamError("E_UNKNOWN_KIND")
    if r.u(6, 1) & 0xFE:
        raise SealcamError("E_UNKNOWN_FLAGS")
    if r.u(7, 1) != 0:
        raise SealcamError("E_MALFORMED", "reserved")
    if len(data) < 72:
        raise SealcamError("E_MALFORMED", "truncated header")
    f = {"kind": data[5], "last": bool(data[6] & 1), "cameraId": data[8:24], "epoch": be(data[24:28]),
         "seq": be(data[28:36]), "captureTime": be(data[36:44]), "chunkIndex": be(data[44:48]),
         "nonce": data[48:72], "ct": data[72:]}
    if f["seq"] > U53 or f["captureTime"] > U53:
        raise SealcamError("E_MALFORMED", "u64 above 2^53-1")
    if f["epoch"] == 0:
        raise SealcamError("E_MALFORMED", "epoch 0")
    if f["chunkIndex"] >= 4096:
        raise SealcamError("E_MALFORMED", "chunkIndex")
    check_nonce(f["nonce"], f["seq"])
    if len(f["ct"]) < 64:
        raise SealcamError("E_MALFORMED", "ct shorter than 64")
    return f


# ---------------------------------------------------------------- viewer

class Viewer:
    MAX_PENDING = 4

    def __init__(self, cam_sign_pk, cam_box_pk, my_id, my_box_sk):
        self.cam_sign_pk, self.cam_box_pk = cam_sign_pk, cam_box_pk
        self.cam_id = accept_public_identity(cam_sign_pk, cam_box_pk)
        self.my_id, self.my_box_sk = my_id, my_box_sk
        self.keyring, self.stream, self.pending = EpochKeyring(), StreamState(), {}

    def open_announcement(self, ann):
        """§5.3 / Appendix B: unwrap the epoch key and add it to the keyring."""
        r = Reader(ann)
        if len(ann) < 4:
            raise SealcamError("E_MALFORMED")
        if ann[0:4] != b"SCK1":
            raise SealcamError("E_BAD_MAGIC")
        if r.u(4, 1) != 1:
            raise SealcamError("E_UNSUPPORTED_VERSION")
        if r.u(5, 1) != 0:
            raise SealcamError("E_UNKNOWN_FLAGS")
        n = r.u(6, 2)
        if not 1 <= n <= 64:
            raise SealcamError("E_MALFORMED", "count")
        L = 72 + 108 * n
        if r.u(32, 8) > U53 or len(ann) != L + 64:
            raise SealcamError("E_MALFORMED")
        camera_id, epoch, eph = ann[8:24], be(ann[24:28]), ann[40:72]
        if epoch == 0:
            raise SealcamError("E_MALFORMED", "epoch 0")
        if camera_id != self.cam_id:
            raise SealcamError("E_FOREIGN_CAMERA")
        if not ed25519_verify(ann[L : L + 64], CTX_EPOCH + ann[:L], self.cam_sign_pk):
            raise SealcamError("E_BAD_SIGNATURE")
        entries = [ann[72 + 108 * j : 180 + 108 * j] for j in range(n)]
        entry = next((e for e in entries if e[0:16] == self.my_id), None)
        if entry is None:
            raise SealcamError("E_NOT_ON_ROSTER")
        if x25519(self.my_box_sk, eph) is None:
            raise SealcamError("E_LOW_ORDER_POINT")
        pt = box_open(entry[40:108], entry[16:40], eph, self.my_box_sk)
        if pt is None:
            raise SealcamError("E_DECRYPT", "wrapped key")
        if len(pt) != 52 or pt[0:16] != camera_id or be(pt[16:20]) != epoch:
            raise SealcamError("E_INNER_HEADER", "wrapped key bound elsewhere")
        self.keyring.add(epoch, pt[20:52])
        return epoch

    def open_segment(self, env):
        """§6.3, in order. Returns (header fields, [payload_i], verdict)."""
        if len(env) < 144:
            raise SealcamError("E_MALFORMED", "shorter than 144")
        h = parse_segment_header(env)
        if len(env) != 144 + h["bodyLength"]:
            raise SealcamError("E_MALFORMED", "envelope length")
        body = env[144:]
        if h["cameraId"] != self.cam_id:
            raise SealcamError("E_FOREIGN_CAMERA")
        msg = CTX_SEGMENT + env[:80] + hashlib.sha512(body).digest()
        if not ed25519_verify(env[80:144], msg, self.cam_sign_pk):
            raise SealcamError("E_BAD_SIGNATURE")
        verdict = self.stream.check(h["seq"], h["epoch"])
        key = self.keyring.get(h["epoch"])
        if key is None:
            raise SealcamError("E_UNKNOWN_EPOCH")
        cts = split_body(body, h["chunkCount"])
        payloads = []
        for i, ct in enumerate(cts):
            pt = secretbox_open(ct, chunk_nonce(h["nonce"], i), key)
            if pt is None:
                raise SealcamError("E_DECRYPT", f"chunk {i}")
            payloads.append(check_inner(pt, h["kind"], i == h["chunkCount"] - 1, h["cameraId"],
                                        h["epoch"], h["seq"], h["captureTime"], i))
        self.stream.commit(h["seq"], h["epoch"], h["final"])
        self.pending.pop(h["seq"], None)
        return h, payloads, verdict

    def accept_live(self, data):
        """§7.3 acceptLiveChunk. Returns the provisional payload_i."""
        c = parse_live_chunk(data)
        if c["cameraId"] != self.cam_id:
            raise SealcamError("E_FOREIGN_CAMERA")
        top, seq, i = self.stream.highest_seq, c["seq"], c["chunkIndex"]
        if top is not None and seq <= top:
            raise SealcamError("E_REPLAY")
        if top is not None and seq - top > self.stream.max_forward_jump:
            raise SealcamError("E_FORWARD_JUMP")
        key = self.keyring.get(c["epoch"])
        if key is None:
            raise SealcamError("E_UNKNOWN_EPOCH")
        p = self.pending.get(seq)
        if p is None:
            if i != 0:
                raise SealcamError("E_REORDERED", "live chunk before its predecessor")
            p = {"epoch": c["epoch"], "nonce": c["nonce"], "captureTime": c["captureTime"],
                 "frames": [], "bytes": 0, "complete": False}
        else:
            if (c["epoch"], c["nonce"], c["captureTime"]) != (p["epoch"], p["nonce"], p["captureTime"]):
                raise SealcamError("E_INNER_HEADER", "differs from chunk 0")
            if p["complete"] or i < len(p["frames"]):
                raise SealcamError("E_REPLAY", "live chunk already received")
            if i > len(p["frames"]):
                raise SealcamError("E_REORDERED", "live chunk before its predecessor")
        if p["bytes"] + len(c["ct"]) > MIB64:
            raise SealcamError("E_REASSEMBLY_LIMIT")
        pt = secretbox_open(c["ct"], chunk_nonce(c["nonce"], i), key)
        if pt is None:
            raise SealcamError("E_DECRYPT", f"live chunk {i}")
        payload = check_inner(pt, c["kind"], c["last"], c["cameraId"], c["epoch"], seq, c["captureTime"], i)
        p["frames"].append(len(c["ct"]).to_bytes(4, "big") + c["ct"])
        p["bytes"] += 4 + len(c["ct"])
        p["complete"] = c["last"]
        if seq not in self.pending:
            self.pending[seq] = p
            while len(self.pending) > self.MAX_PENDING:
                del self.pending[min(self.pending)]
        return payload

    def confirm_live(self, seal):
        """§7.4 confirmLive. Returns the verdict."""
        if len(seal) < 144:
            raise SealcamError("E_MALFORMED", "seal shorter than 144")
        h = parse_segment_header(seal)
        if len(seal) != 144:
            raise SealcamError("E_MALFORMED", "seal length")
        if h["cameraId"] != self.cam_id:
            raise SealcamError("E_FOREIGN_CAMERA")
        p = self.pending.get(h["seq"])
        if p is None or not p["complete"] or len(p["frames"]) != h["chunkCount"]:
            raise SealcamError("E_LIVE_INCOMPLETE")
        if p["bytes"] != h["bodyLength"] or (h["epoch"], h["nonce"], h["captureTime"]) != (
                p["epoch"], p["nonce"], p["captureTime"]):
            raise SealcamError("E_BAD_SIGNATURE", "seal does not match live chunks")
        msg = CTX_SEGMENT + seal[:80] + hashlib.sha512(b"".join(p["frames"])).digest()
        if not ed25519_verify(seal[80:144], msg, self.cam_sign_pk):
            raise SealcamError("E_BAD_SIGNATURE")
        verdict = self.stream.check(h["seq"], h["epoch"])
        self.stream.commit(h["seq"], h["epoch"], h["final"])
        del self.pending[h["seq"]]
        return verdict


# ---------------------------------------------------------------- §10 transport

def parse_transport_piece(msg):
    """§10.3, in order."""
    if len(msg) < 52 or msg[0:4] != b"SCC1":
        raise SealcamError("E_CHUNK_HEADER", "short or bad magic")
    if msg[4] != 1:
        raise SealcamError("E_UNSUPPORTED_VERSION")
    if msg[5] != 0:
        raise SealcamError("E_UNKNOWN_FLAGS")
    f = {"index": be(msg[6:8]), "count": be(msg[8:10]), "reserved": be(msg[10:12]),
         "totalLength": be(msg[12:16]), "offset": be(msg[16:20]), "hash": msg[20:52], "data": msg[52:]}
    if f["reserved"] != 0:
        raise SealcamError("E_CHUNK_HEADER", "reserved")
    if f["count"] < 1 or f["index"] >= f["count"]:
        raise SealcamError("E_CHUNK_HEADER", "index/count")
    if not 1 <= f["totalLength"] <= 144 + MIB64:
        raise SealcamError("E_CHUNK_HEADER", "totalLength")
    if len(f["data"]) < 1 or f["offset"] + len(f["data"]) > f["totalLength"]:
        raise SealcamError("E_CHUNK_HEADER", "data range")
    if f["count"] > f["totalLength"]:
        raise SealcamError("E_CHUNK_HEADER", "count > totalLength")
    return f


class Reassembler:
    """§10.4. push() returns the envelope when complete, else None."""

    def __init__(self, max_bytes=32 * 1024 * 1024, max_envelopes=8, on_evict=None):
        self.max_bytes, self.max_envelopes = max_bytes, max_envelopes
        self.on_evict = on_evict or (lambda err: None)
        self.groups = {}  # envelopeHash -> group; dict order = age

    def push(self, msg):
        f = parse_transport_piece(msg)
        digest = lambda b: hashlib.sha512(b).digest()[:32]
        if f["count"] == 1:
            if digest(f["data"]) != f["hash"]:
                raise SealcamError("E_CHUNK_MISMATCH")
            return f["data"]
        g = self.groups.get(f["hash"])
        if g is None:
            if f["totalLength"] > self.max_bytes:
                raise SealcamError("E_REASSEMBLY_LIMIT")
            while self.groups and (len(self.groups) >= self.max_envelopes or
                                   self.in_flight() + f["totalLength"] > self.max_bytes):
                del self.groups[next(iter(self.groups))]
                self.on_evict(SealcamError("E_REASSEMBLY_LIMIT", "evicted"))
            g = {"count": f["count"], "total": f["totalLength"],
                 "buf": bytearray(f["totalLength"]), "got": set()}
            self.groups[f["hash"]] = g
        if f["count"] != g["count"] or f["totalLength"] != g["total"]:
            raise SealcamError("E_CHUNK_MISMATCH")
        if f["index"] in g["got"]:
            return None
        g["buf"][f["offset"] : f["offset"] + len(f["data"])] = f["data"]
        g["got"].add(f["index"])
        if len(g["got"]) < g["count"]:
            return None
        del self.groups[f["hash"]]
        if digest(bytes(g["buf"])) != f["hash"]:
            raise SealcamError("E_CHUNK_MISMATCH")
        return bytes(g["buf"])

    def in_flight(self):
        return sum(g["total"] for g in self.groups.values())


# ---------------------------------------------------------------- vector runner

def new_viewer(v):
    x = bytes.fromhex
    return Viewer(x(v["camera"]["signPublicKey"]), x(v["camera"]["boxPublicKey"]),
                  x(v["viewer"]["id"]), x(v["viewer"]["boxSecretKey"]))


def run_step(viewer, reassembler, step):
    kind, hx = step["type"], step["hex"]
    if kind == "segment" and hx == "end":
        return viewer.stream.assert_complete()
    action = {"announcement": viewer.open_announcement, "segment": viewer.open_segment,
              "live": viewer.accept_live, "seal": viewer.confirm_live, "transport": reassembler.push}
    return action[kind](bytes.fromhex(hx))


def guarded(fn):
    try:
        return fn()
    except SealcamError as e:
        return False, f"unexpected {e.code}: {e}"
    except Exception as e:  # a bug in this reader, reported rather than crashing the run
        return False, f"exception {type(e).__name__}: {e}"


def run_valid(vec):
    viewer, results = new_viewer(vec), []
    ok, detail = guarded(lambda: (viewer.open_announcement(bytes.fromhex(vec["announcement"])), (True, ""))[1])
    if not ok:
        return [{"name": "announcement", "ok": False, "detail": detail}]
    for case in vec["valid"]:
        def one(case=case):
            h, payloads, verdict = viewer.open_segment(bytes.fromhex(case["hex"]))
            got = {"kind": {1: "init", 2: "media"}[h["kind"]], "seq": h["seq"], "epoch": h["epoch"],
                   "final": h["final"], "captureTime": h["captureTime"], "durationMs": h["durationMs"],
                   "chunks": [p.hex() for p in payloads]}
            diff = [k for k in case["expect"] if case["expect"][k] != got.get(k)]
            return not diff, (f"mismatch in {diff}" if diff else f"verdict {verdict}")
        ok, detail = guarded(one)
        results.append({"name": case["name"], "ok": ok, "detail": detail})
    ok, detail = guarded(lambda: (viewer.stream.assert_complete(), (True, "stream ends with FINAL"))[1])
    results.append({"name": "stream end after the valid segments (assertComplete)", "ok": ok, "detail": detail})
    return results


def run_live(vec):
    def go():
        viewer, live = new_viewer(vec), vec["live"]
        viewer.open_announcement(bytes.fromhex(vec["announcement"]))
        viewer.open_segment(bytes.fromhex(vec["valid"][0]["hex"]))
        payloads = [viewer.accept_live(bytes.fromhex(c)).hex() for c in live["chunks"]]
        if payloads != live["expectPayloads"]:
            return False, "live payloads differ"
        return True, f"seal confirmed, verdict {viewer.confirm_live(bytes.fromhex(live['seal']))}"
    ok, detail = guarded(go)
    return {"ok": ok, "detail": detail}


def run_transport(vec):
    def go():
        r, out = Reassembler(), None
        for piece in vec["transport"]["pieces"]:
            got = r.push(bytes.fromhex(piece))
            if got is not None:
                out = got
        if out is None:
            return False, "never completed"
        return out.hex() == vec["transport"]["envelope"], f"reassembled {len(out)} bytes"
    ok, detail = guarded(go)
    return {"ok": ok, "detail": detail}


def run_roster(vec):
    def go():
        x = bytes.fromhex
        r = open_roster(x(vec["roster"]), x(vec["viewer"]["signPublicKey"]))
        ok = r["cameraId"].hex() == vec["camera"]["id"] and r["entries"][0][1].hex() == vec["viewer"]["boxPublicKey"]
        return ok, f"rosterVersion {r['rosterVersion']}, {len(r['entries'])} entries"
    ok, detail = guarded(go)
    return {"ok": ok, "detail": detail}


def run_invalid(vec, case):
    viewer, reassembler, steps = new_viewer(vec), Reassembler(), case["steps"]
    out = {"name": case["name"], "expected": case["error"], "got": None, "ok": False}
    for k, step in enumerate(steps):
        try:
            run_step(viewer, reassembler, step)
        except SealcamError as e:
            out["got"] = e.code
            if k == len(steps) - 1:
                out["ok"] = e.code == case["error"]
            else:
                out["detail"] = f"step {k} of {len(steps)} failed early"
            return out
        except Exception as e:
            out["detail"] = f"exception {type(e).__name__}: {e}"
            return out
    return out


def main(argv):
    global SODIUM
    if len(argv) != 2:
        print(f"usage: {argv[0]} test/vectors/segments.json", file=sys.stderr)
        return 2
    SODIUM = load_sodium()
    if SODIUM is None:
        print("sealcam_reader: libsodium not found (install libsodium23)", file=sys.stderr)
        return 3
    with open(argv[1]) as fh:
        vec = json.load(fh)
    cam_id = compute_id(bytes.fromhex(vec["camera"]["signPublicKey"]), bytes.fromhex(vec["camera"]["boxPublicKey"]))
    viewer_id = compute_id(bytes.fromhex(vec["viewer"]["signPublicKey"]), bytes.fromhex(vec["viewer"]["boxPublicKey"]))
    report = {"ids": {"ok": cam_id.hex() == vec["camera"]["id"] and viewer_id.hex() == vec["viewer"]["id"],
                      "detail": "camera and viewer ids recomputed (§2)"},
              "roster": run_roster(vec)}
    report["valid"] = run_valid(vec)
    report["live"] = run_live(vec)
    report["transport"] = run_transport(vec)
    report["invalid"] = [run_invalid(vec, c) for c in vec["invalid"]]
    oks = ([report["ids"]["ok"], report["roster"]["ok"], report["live"]["ok"], report["transport"]["ok"]]
           + [r["ok"] for r in report["valid"]] + [r["ok"] for r in report["invalid"]])
    report["passed"], report["failed"] = sum(oks), len(oks) - sum(oks)
    print(json.dumps(report, indent=2))
    return 0 if report["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
