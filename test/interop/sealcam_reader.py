"""Independent sealcam wire-protocol reader (version 1), for interoperability testing.

Written from docs/PROTOCOL.md and test/vectors/segments.json alone, without reading the
reference implementation (src/) or its tests. It is a small viewer: a pinned camera, the
viewer's own box secret, an epoch keyring (§5.4), stream state (§8), segment opening (§6.3),
live chunks and seals (§7), live sessions (§7.5), size padding (§6.5), rosters and the camera's
roster-update check (§4), transport reassembly (§10), and pairing (§3: the code, the handshake
messages and every check, with test/vectors/pairing.json).

Requirements: Python 3.11 standard library and libsodium (loaded through ctypes).

Run from the repository root:

    python3 test/interop/sealcam_reader.py test/vectors/segments.json [test/vectors/pairing.json]

It prints one JSON report to stdout. Exit status: 0 if every case passed, 1 if any failed,
3 if libsodium could not be loaded.
"""

import base64
import binascii
import ctypes
import ctypes.util
import hashlib
import re
import zlib
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


def reject_if(condition, code, message=""):
    """The spec's "if <condition>, reject with <code>"."""
    if condition:
        raise SealcamError(code, message)


# ---------------------------------------------------------------- libsodium through ctypes

def load_sodium():
    for name in filter(None, (ctypes.util.find_library("sodium"), "libsodium.so.23")):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if lib.sodium_init() >= 0:  # 0 = initialised, 1 = already initialised
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


def _open_easy(fn, ct, *args):
    """ct = tag(16) || encrypted message (§1.4). Returns the plaintext, or None on failure."""
    if len(ct) < 16:
        return None
    out = ctypes.create_string_buffer(max(len(ct) - 16, 1))
    return out.raw[: len(ct) - 16] if fn(out, ct, ULL(len(ct)), *args) == 0 else None


def box_open(ct, nonce, their_pk, my_sk):
    return _open_easy(SODIUM.crypto_box_open_easy, ct, nonce, their_pk, my_sk)


def secretbox_open(ct, nonce, key):
    return _open_easy(SODIUM.crypto_secretbox_open_easy, ct, nonce, key)


# ---------------------------------------------------------------- helpers

def be(b):
    return int.from_bytes(b, "big")


def read_u(data, off, n):
    """A big-endian field; a read past the end is E_MALFORMED (§1.6, Appendix B)."""
    reject_if(off + n > len(data), "E_MALFORMED", "truncated")
    return be(data[off : off + n])


def compute_id(sign_pk, box_pk):
    return hashlib.sha512(CTX_ID + sign_pk + box_pk).digest()[:16]


def accept_public_identity(sign_pk, box_pk):
    """§2 'Accepting a public identity'."""
    reject_if(len(sign_pk) != 32 or len(box_pk) != 32, "E_BAD_KEY")
    reject_if(x25519(b"\x5a" * 32, box_pk) is None, "E_LOW_ORDER_POINT")
    return compute_id(sign_pk, box_pk)


# ---------------------------------------------------------------- §4 roster

def open_roster(data, owner_sign_pk):
    reject_if(len(data) < 4, "E_MALFORMED")
    reject_if(data[0:4] != b"SCR1", "E_BAD_MAGIC")
    reject_if(read_u(data, 4, 1) != 1, "E_UNSUPPORTED_VERSION")
    reject_if(read_u(data, 5, 1) != 0, "E_UNKNOWN_FLAGS")
    n = read_u(data, 6, 2)
    reject_if(not 1 <= n <= 64, "E_MALFORMED", "count")
    reject_if(read_u(data, 24, 4) == 0, "E_MALFORMED", "rosterVersion 0")
    reject_if(read_u(data, 28, 8) > U53 or len(data) != 100 + 64 * n, "E_MALFORMED")
    body_end = 36 + 64 * n
    if not ed25519_verify(data[body_end:], CTX_ROSTER + data[:body_end], owner_sign_pk):
        raise SealcamError("E_ROSTER_SIGNATURE")
    entries = [(data[36 + 64 * j : 68 + 64 * j], data[68 + 64 * j : 100 + 64 * j]) for j in range(n)]
    reject_if(entries[0][0] != owner_sign_pk, "E_MALFORMED", "entry 0 is not the owner")
    for _, box_pk in entries:
        reject_if(x25519(b"\x5a" * 32, box_pk) is None, "E_LOW_ORDER_POINT")
    reject_if(len({compute_id(*e) for e in entries}) != n, "E_MALFORMED", "a viewer listed twice")
    return {"cameraId": data[8:24], "rosterVersion": read_u(data, 24, 4), "issuedAt": read_u(data, 28, 8), "entries": entries}


def accept_roster_update(data, owner_sign_pk, camera_id, current_version):
    """§4.4, the camera's check of a roster update. Returns the accepted roster."""
    roster = open_roster(data, owner_sign_pk)
    reject_if(roster["cameraId"] != camera_id, "E_FOREIGN_CAMERA")
    reject_if(roster["rosterVersion"] <= current_version, "E_STALE_ROSTER")
    return roster


# ---------------------------------------------------------------- §5.4 keyring

class EpochKeyring:
    def __init__(self, capacity=8):
        self.capacity, self.keys = capacity, {}

    def add(self, epoch, key):
        if epoch in self.keys:
            reject_if(self.keys[epoch] != key, "E_STALE_EPOCH", "different key for a held epoch")
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
            reject_if(delta > self.max_forward_jump, "E_FORWARD_JUMP")
            reject_if(epoch < self.highest_epoch, "E_EPOCH_ROLLBACK")
            return "next" if delta == 1 else "gap"
        age = self.highest_seq - seq
        reject_if(age >= 128 or (self.window >> age) & 1, "E_REPLAY")
        raise SealcamError("E_REORDERED")

    def commit(self, seq, epoch, final):
        shift = 128 if self.highest_seq is None else seq - self.highest_seq
        self.window = 1 if shift >= 128 else ((self.window << shift) | 1) % 2**128
        self.highest_seq = seq
        self.highest_epoch = max(self.highest_epoch, epoch)
        self.final_seen = final

    def assert_complete(self):
        reject_if(self.highest_seq is not None and not self.final_seen, "E_TRUNCATED")


# ---------------------------------------------------------------- §6 segment header, §6.2 inner header

def parse_segment_header(data):
    """§6.3 steps 1.2 to 1.12 on the first 80 bytes (caller checked len >= 144)."""
    h = data[:80]
    reject_if(h[0:4] != b"SCS1", "E_BAD_MAGIC")
    reject_if(h[4] != 1, "E_UNSUPPORTED_VERSION")
    reject_if(h[5] not in (1, 2, 3), "E_UNKNOWN_KIND")
    reject_if(h[6] & 0xFE, "E_UNKNOWN_FLAGS")
    reject_if(h[7] != 0, "E_MALFORMED", "reserved")
    f = {"kind": h[5], "final": bool(h[6] & 1), "cameraId": h[8:24], "epoch": be(h[24:28]),
         "seq": be(h[28:36]), "captureTime": be(h[36:44]), "durationMs": be(h[44:48]),
         "chunkCount": be(h[48:52]), "bodyLength": be(h[52:56]), "nonce": h[56:80]}
    reject_if(f["seq"] > U53 or f["captureTime"] > U53, "E_MALFORMED", "u64 above 2^53-1")
    reject_if(f["epoch"] == 0, "E_MALFORMED", "epoch 0")
    reject_if(not 1 <= f["chunkCount"] <= 4096, "E_MALFORMED", "chunkCount")
    reject_if(f["bodyLength"] > MIB64 or f["bodyLength"] < 68 * f["chunkCount"], "E_MALFORMED", "bodyLength")
    check_nonce(f["nonce"], f["seq"])
    return f


def check_nonce(nonce, seq):
    if nonce[12:20] != seq.to_bytes(8, "big") or nonce[20:24] != bytes(4):
        raise SealcamError("E_MALFORMED", "nonce structure")


def chunk_nonce(nonce, i):
    return nonce[0:20] + i.to_bytes(4, "big")


def check_inner(pt, kind, last, camera_id, epoch, seq, capture_time, i):
    """§6.3 step 6; returns payload_i."""
    reject_if(len(pt) < 48, "E_INNER_HEADER", f"chunk {i}: short")
    flags = pt[5]
    padded = flags & 0x02
    expect = (b"SCI1" + bytes([kind, (1 if last else 0) | padded]) + b"\0\0" + camera_id
              + epoch.to_bytes(4, "big") + seq.to_bytes(8, "big")
              + capture_time.to_bytes(8, "big") + i.to_bytes(4, "big"))
    reject_if(pt[:48] != expect, "E_INNER_HEADER", f"chunk {i}")
    rest = pt[48:]
    if not padded:
        return rest
    # §6.5: payload || zero(padLength) || u32(padLength)
    reject_if(len(rest) < 4, "E_INNER_HEADER", f"chunk {i}: no padding trailer")
    pad_length = be(rest[-4:])
    end = len(rest) - 4 - pad_length
    reject_if(end < 0, "E_INNER_HEADER", f"chunk {i}: padding longer than the chunk")
    reject_if(any(rest[end:-4]), "E_INNER_HEADER", f"chunk {i}: non-zero padding")
    return rest[:end]


def split_body(body, chunk_count):
    """§6.3 step 5 framing: the whole body is split before any chunk is opened."""
    cts, off = [], 0
    for _ in range(chunk_count):
        reject_if(off + 4 > len(body), "E_MALFORMED", "frame overruns body")
        n = be(body[off : off + 4])
        reject_if(n < 64 or off + 4 + n > len(body), "E_MALFORMED", "bad ctLength")
        cts.append(body[off + 4 : off + 4 + n])
        off += 4 + n
    reject_if(off != len(body), "E_MALFORMED", "trailing body bytes")
    return cts


# ---------------------------------------------------------------- §7.2 live chunk

def parse_live_chunk(data):
    reject_if(len(data) < 4, "E_MALFORMED")
    reject_if(data[0:4] != b"SCL1", "E_BAD_MAGIC")
    reject_if(read_u(data, 4, 1) != 1, "E_UNSUPPORTED_VERSION")
    reject_if(read_u(data, 5, 1) not in (1, 2, 3), "E_UNKNOWN_KIND")
    reject_if(read_u(data, 6, 1) & 0xFE, "E_UNKNOWN_FLAGS")
    reject_if(read_u(data, 7, 1) != 0, "E_MALFORMED", "reserved")
    reject_if(len(data) < 72, "E_MALFORMED", "truncated header")
    f = {"kind": data[5], "last": bool(data[6] & 1), "cameraId": data[8:24], "epoch": be(data[24:28]),
         "seq": be(data[28:36]), "captureTime": be(data[36:44]), "chunkIndex": be(data[44:48]),
         "nonce": data[48:72], "ct": data[72:]}
    reject_if(f["seq"] > U53 or f["captureTime"] > U53, "E_MALFORMED", "u64 above 2^53-1")
    reject_if(f["epoch"] == 0, "E_MALFORMED", "epoch 0")
    reject_if(f["chunkIndex"] >= 4096, "E_MALFORMED", "chunkIndex")
    check_nonce(f["nonce"], f["seq"])
    reject_if(len(f["ct"]) < 64, "E_MALFORMED", "ct shorter than 64")
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
        reject_if(len(ann) < 4, "E_MALFORMED")
        reject_if(ann[0:4] != b"SCK1", "E_BAD_MAGIC")
        reject_if(read_u(ann, 4, 1) != 1, "E_UNSUPPORTED_VERSION")
        reject_if(read_u(ann, 5, 1) != 0, "E_UNKNOWN_FLAGS")
        n = read_u(ann, 6, 2)
        reject_if(not 1 <= n <= 64, "E_MALFORMED", "count")
        L = 72 + 108 * n
        reject_if(read_u(ann, 32, 8) > U53 or len(ann) != L + 64, "E_MALFORMED")
        camera_id, epoch, eph = ann[8:24], be(ann[24:28]), ann[40:72]
        reject_if(epoch == 0, "E_MALFORMED", "epoch 0")
        reject_if(camera_id != self.cam_id, "E_FOREIGN_CAMERA")
        if not ed25519_verify(ann[L : L + 64], CTX_EPOCH + ann[:L], self.cam_sign_pk):
            raise SealcamError("E_BAD_SIGNATURE")
        entries = [ann[72 + 108 * j : 180 + 108 * j] for j in range(n)]
        entry = next((e for e in entries if e[0:16] == self.my_id), None)
        reject_if(entry is None, "E_NOT_ON_ROSTER")
        reject_if(x25519(self.my_box_sk, eph) is None, "E_LOW_ORDER_POINT")
        pt = box_open(entry[40:108], entry[16:40], eph, self.my_box_sk)
        reject_if(pt is None, "E_DECRYPT", "wrapped key")
        if len(pt) != 52 or pt[0:16] != camera_id or be(pt[16:20]) != epoch:
            raise SealcamError("E_INNER_HEADER", "wrapped key bound elsewhere")
        self.keyring.add(epoch, pt[20:52])
        self.last_announcement = {"epoch": epoch, "rosterVersion": be(ann[28:32]),
                                  "viewerIds": {e[0:16] for e in entries}}
        return epoch

    def open_init(self, env):
        """§7.5 step 6: open an init envelope from the live topic; it enters the stream state
        only when its seq is above highestSeq (or none is held)."""
        fresh = self.stream.highest_seq is None or parse_segment_header(env)["seq"] > self.stream.highest_seq
        if fresh:
            h, payloads, _ = self.open_segment(env)
        else:
            h, payloads, _ = self.open_segment(env, use_stream=False)
        reject_if(h["kind"] != 1, "E_UNKNOWN_KIND", "not an init envelope")
        return h, payloads

    def open_segment(self, env, use_stream=True):
        """§6.3, in order. Returns (header fields, [payload_i], verdict)."""
        reject_if(len(env) < 144, "E_MALFORMED", "shorter than 144")
        h = parse_segment_header(env)
        reject_if(len(env) != 144 + h["bodyLength"], "E_MALFORMED", "envelope length")
        body = env[144:]
        reject_if(h["cameraId"] != self.cam_id, "E_FOREIGN_CAMERA")
        msg = CTX_SEGMENT + env[:80] + hashlib.sha512(body).digest()
        reject_if(not ed25519_verify(env[80:144], msg, self.cam_sign_pk), "E_BAD_SIGNATURE")
        verdict = self.stream.check(h["seq"], h["epoch"]) if use_stream else None
        key = self.keyring.get(h["epoch"])
        reject_if(key is None, "E_UNKNOWN_EPOCH")
        cts = split_body(body, h["chunkCount"])
        payloads = []
        for i, ct in enumerate(cts):
            pt = secretbox_open(ct, chunk_nonce(h["nonce"], i), key)
            reject_if(pt is None, "E_DECRYPT", f"chunk {i}")
            payloads.append(check_inner(pt, h["kind"], i == h["chunkCount"] - 1, h["cameraId"],
                                        h["epoch"], h["seq"], h["captureTime"], i))
        if use_stream:
            self.stream.commit(h["seq"], h["epoch"], h["final"])
            self.pending.pop(h["seq"], None)
        return h, payloads, verdict

    def accept_live(self, data):
        """§7.3 acceptLiveChunk. Returns the provisional payload_i."""
        c = parse_live_chunk(data)
        reject_if(c["cameraId"] != self.cam_id, "E_FOREIGN_CAMERA")
        seq, i = c["seq"], c["chunkIndex"]
        self.stream.check(seq, c["epoch"])  # §7.3 step 3: verdict unused, state unchanged
        key = self.keyring.get(c["epoch"])
        reject_if(key is None, "E_UNKNOWN_EPOCH")
        p = self.pending.get(seq)
        if p is None:
            reject_if(i != 0, "E_REORDERED", "live chunk before its predecessor")
            p = {"epoch": c["epoch"], "nonce": c["nonce"], "captureTime": c["captureTime"],
                 "frames": [], "bytes": 0, "complete": False}
        else:
            same = (c["epoch"], c["nonce"], c["captureTime"]) == (p["epoch"], p["nonce"], p["captureTime"])
            reject_if(not same, "E_INNER_HEADER", "differs from chunk 0")
            reject_if(p["complete"] or i < len(p["frames"]), "E_REPLAY", "live chunk already received")
            reject_if(i > len(p["frames"]), "E_REORDERED", "live chunk before its predecessor")
        reject_if(p["bytes"] + len(c["ct"]) > MIB64, "E_REASSEMBLY_LIMIT")
        pt = secretbox_open(c["ct"], chunk_nonce(c["nonce"], i), key)
        reject_if(pt is None, "E_DECRYPT", f"live chunk {i}")
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
        reject_if(len(seal) < 144, "E_MALFORMED", "seal shorter than 144")
        h = parse_segment_header(seal)
        reject_if(len(seal) != 144, "E_MALFORMED", "seal length")
        reject_if(h["cameraId"] != self.cam_id, "E_FOREIGN_CAMERA")
        p = self.pending.get(h["seq"])
        reject_if(p is None or not p["complete"] or len(p["frames"]) != h["chunkCount"], "E_LIVE_INCOMPLETE")
        same = (h["epoch"], h["nonce"], h["captureTime"]) == (p["epoch"], p["nonce"], p["captureTime"])
        reject_if(p["bytes"] != h["bodyLength"] or not same, "E_BAD_SIGNATURE", "seal does not match")
        msg = CTX_SEGMENT + seal[:80] + hashlib.sha512(b"".join(p["frames"])).digest()
        reject_if(not ed25519_verify(seal[80:144], msg, self.cam_sign_pk), "E_BAD_SIGNATURE")
        verdict = self.stream.check(h["seq"], h["epoch"])
        self.stream.commit(h["seq"], h["epoch"], h["final"])
        del self.pending[h["seq"]]
        return verdict


# ---------------------------------------------------------------- §7.5 live session

class LiveSession:
    """§7.5: one viewer's session on a camera's keys and live topics, with a clock."""

    def __init__(self, viewer, max_age=8000, max_skew=5000, hold=3000, max_held=512, expected_roster=None):
        self.v, self.max_age, self.max_skew, self.hold_ms, self.max_held = viewer, max_age, max_skew, hold, max_held
        self.expected = expected_roster  # (rosterVersion, set of viewer ids) or None
        self.held, self.joined, self.last_init, self.now = [], None, None, 0
        self.stats = {"chunksAccepted": 0, "chunksConfirmed": 0, "skippedBeforeJoin": 0, "heldReleased": 0, "rejected": {}}

    def _reject(self, what, code, events):
        self.stats["rejected"][code] = self.stats["rejected"].get(code, 0) + 1
        events.append(f"rejected {what} {code}")

    def _expire(self):
        events = []
        while self.held and self.held[0][2] < self.now - self.hold_ms:
            data, _, _ = self.held.pop(0)
            self._reject(self._kind(data), "E_UNKNOWN_EPOCH", events)
        return events

    def tick(self, now):
        self.now = now
        return self._expire()

    def handle(self, channel, data, now):
        self.now = now
        events = self._expire()
        if channel == "keys":
            if data:
                self._announcement(data, events)
        else:
            self._live(data, events, True)
        return events

    def _announcement(self, data, events):
        try:
            epoch = self.v.open_announcement(data)
        except SealcamError as e:
            return self._reject("announcement", e.code, events)
        events.append(f"announcement {epoch}")
        info = self.v.last_announcement
        if self.expected and epoch == max(self.v.keyring.keys):  # §5.5, for the newest epoch held
            version, ids = self.expected
            if info["rosterVersion"] < version or (info["rosterVersion"] == version and info["viewerIds"] != ids):
                events.append("alarm E_ROSTER_LAGGING")
        ready = [h for h in self.held if self.v.keyring.get(h[1]) is not None]
        self.held = [h for h in self.held if self.v.keyring.get(h[1]) is None]
        for data, _, _ in ready:
            self.stats["heldReleased"] += 1
            self._live(data, events, False)

    @staticmethod
    def _kind(data):
        if data[:4] == b"SCS1":
            return "seal" if len(data) == 144 else "init"
        return "chunk"

    def _live(self, data, events, may_hold):
        what = self._kind(data)
        try:
            h = parse_live_chunk(data) if what == "chunk" else parse_segment_header(data)
            if what == "seal":
                reject_if(len(data) != 144, "E_MALFORMED", "seal length")
            elif what == "init":
                reject_if(len(data) != 144 + h["bodyLength"], "E_MALFORMED", "envelope length")
            reject_if(h["cameraId"] != self.v.cam_id, "E_FOREIGN_CAMERA")
            newest = max(self.v.keyring.keys) if self.v.keyring.keys else 0
            if may_hold and self.v.keyring.get(h["epoch"]) is None and h["epoch"] > newest:
                self.held.append((bytes(data), h["epoch"], self.now))
                while len(self.held) > self.max_held:
                    dropped = self.held.pop(0)
                    self._reject(self._kind(dropped[0]), "E_UNKNOWN_EPOCH", events)
                return
            if what == "chunk":
                self._chunk(data, h, events)
            elif what == "seal":
                self._seal(data, h, events)
            else:
                self._init(data, events)
        except SealcamError as e:
            self._reject(what, e.code, events)

    def _before_join(self, seq):
        return seq not in self.v.pending and (self.joined is None or seq < self.joined)

    def _chunk(self, data, h, events):
        reject_if(self.now - h["captureTime"] > self.max_age, "E_STALE_LIVE", "too old")
        reject_if(h["captureTime"] - self.now > self.max_skew, "E_STALE_LIVE", "in the future")
        if h["chunkIndex"] > 0 and self._before_join(h["seq"]):
            self.v.stream.check(h["seq"], h["epoch"])
            self.stats["skippedBeforeJoin"] += 1
            return
        self.v.accept_live(data)
        if self.joined is None:
            self.joined = h["seq"]
        self.stats["chunksAccepted"] += 1
        events.append(f"chunk {h['seq']}/{h['chunkIndex']}")

    def _seal(self, data, h, events):
        if self._before_join(h["seq"]):
            self.v.stream.check(h["seq"], h["epoch"])
            return
        self.v.confirm_live(data)
        self.stats["chunksConfirmed"] += h["chunkCount"]
        events.append(f"confirmed {h['seq']}")

    def _init(self, data, events):
        if self.last_init == bytes(data):
            return
        h, _ = self.v.open_init(data)
        self.last_init = bytes(data)
        events.append(f"init {h['seq']}")


# ---------------------------------------------------------------- §16 motion events

def decode_event(b):
    """§16: the SCEV record a kind-3 segment carries."""
    reject_if(len(b) < 4, "E_MALFORMED")
    reject_if(b[0:4] != b"SCEV", "E_BAD_MAGIC")
    reject_if(read_u(b, 4, 1) != 1, "E_UNSUPPORTED_VERSION")
    ttype = read_u(b, 5, 1)
    reject_if(ttype not in (0, 1), "E_UNKNOWN_KIND", "thumbnail type")
    e = {"peakPermille": read_u(b, 6, 2), "startTime": read_u(b, 8, 8), "endTime": read_u(b, 16, 8),
         "firstSeq": read_u(b, 24, 8), "lastSeq": read_u(b, 32, 8)}
    reject_if(any(e[k] > U53 for k in ("startTime", "endTime", "firstSeq", "lastSeq")), "E_MALFORMED", "u64")
    n = read_u(b, 40, 4)
    reject_if(44 + n != len(b), "E_MALFORMED", "length")
    reject_if(e["peakPermille"] > 1000, "E_MALFORMED", "peak")
    reject_if(e["endTime"] < e["startTime"] or e["lastSeq"] < e["firstSeq"], "E_MALFORMED", "order")
    reject_if(ttype == 0 and n > 0, "E_MALFORMED", "thumbnail without type")
    e["thumbnailType"] = "png" if ttype == 1 else None
    e["thumbnail"] = b[44:].hex()
    return e


# ---------------------------------------------------------------- §10 transport

def parse_transport_piece(msg):
    """§10.3, in order."""
    reject_if(msg[0:4] != b"SCC1", "E_BAD_MAGIC")
    reject_if(len(msg) < 52, "E_CHUNK_HEADER", "shorter than 52")
    reject_if(msg[4] != 1, "E_UNSUPPORTED_VERSION")
    reject_if(msg[5] != 0, "E_UNKNOWN_FLAGS")
    f = {"index": be(msg[6:8]), "count": be(msg[8:10]), "reserved": be(msg[10:12]),
         "totalLength": be(msg[12:16]), "offset": be(msg[16:20]), "hash": msg[20:52], "data": msg[52:]}
    reject_if(f["reserved"] != 0, "E_CHUNK_HEADER", "reserved")
    reject_if(f["count"] < 1 or f["index"] >= f["count"], "E_CHUNK_HEADER", "index/count")
    reject_if(not 1 <= f["totalLength"] <= 144 + MIB64, "E_CHUNK_HEADER", "totalLength")
    if len(f["data"]) < 1 or f["offset"] + len(f["data"]) > f["totalLength"]:
        raise SealcamError("E_CHUNK_HEADER", "data range")
    reject_if(f["count"] > f["totalLength"], "E_CHUNK_HEADER", "count > totalLength")
    return f


class Reassembler:
    """§10.4. push() returns the envelope when complete, else None."""

    def __init__(self, max_bytes=32 * 1024 * 1024, max_envelopes=8):
        self.max_bytes, self.max_envelopes = max_bytes, max_envelopes
        self.groups, self.evicted = {}, []  # envelopeHash -> group (dict order = age); onEvict log

    def push(self, msg):
        f = parse_transport_piece(msg)
        digest = lambda b: hashlib.sha512(b).digest()[:32]
        if f["count"] == 1:
            reject_if(digest(f["data"]) != f["hash"], "E_CHUNK_MISMATCH")
            return f["data"]
        g = self.groups.get(f["hash"])
        if g is None:
            reject_if(f["totalLength"] > self.max_bytes, "E_REASSEMBLY_LIMIT")
            while self.groups and (len(self.groups) >= self.max_envelopes or
                                   self.in_flight() + f["totalLength"] > self.max_bytes):
                del self.groups[next(iter(self.groups))]
                self.evicted.append(SealcamError("E_REASSEMBLY_LIMIT", "evicted"))
            g = {"count": f["count"], "total": f["totalLength"],
                 "buf": bytearray(f["totalLength"]), "got": {}}
            self.groups[f["hash"]] = g
        reject_if(f["count"] != g["count"] or f["totalLength"] != g["total"], "E_CHUNK_MISMATCH")
        if f["index"] in g["got"]:  # a redelivery only if byte-identical (same offset, same data)
            reject_if(g["got"][f["index"]] != (f["offset"], f["data"]), "E_CHUNK_MISMATCH", "repeated index differs")
            return None
        g["buf"][f["offset"] : f["offset"] + len(f["data"])] = f["data"]
        g["got"][f["index"]] = (f["offset"], f["data"])
        if len(g["got"]) < g["count"]:
            return None
        del self.groups[f["hash"]]
        reject_if(digest(bytes(g["buf"])) != f["hash"], "E_CHUNK_MISMATCH")
        return bytes(g["buf"])

    def in_flight(self):
        return sum(g["total"] for g in self.groups.values())


# ---------------------------------------------------------------- §3 pairing

PAIR_ID_CTX, PAIR_KEY_CTX = b"sealcam/pair/id/v1\x00", b"sealcam/pair/key/v1\x00"
PAIR_ANSWER_CTX, PAIR_COMMIT_CTX = b"sealcam/pair/answer/v2\x00", b"sealcam/pair/commit/v2\x00"
PAIR_CONFIRM_CTX = b"sealcam/pair/confirm/v2\x00"
ACCOUNT_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
URL_RE = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")


def decode_qr(text):
    """§3.1 decoding, in order."""
    reject_if(not text.startswith("SC1:"), "E_QR_FORMAT", "prefix")
    b32 = text[4:]
    reject_if(re.fullmatch(r"[A-Z2-7]*", b32) is None, "E_QR_FORMAT", "base32 alphabet")
    try:
        data = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    except binascii.Error:
        raise SealcamError("E_QR_FORMAT", "base32 length")
    reject_if(base64.b32encode(data).decode().rstrip("=") != b32, "E_QR_FORMAT", "trailing bits")
    reject_if(len(data) < 5, "E_QR_FORMAT", "short")
    reject_if(zlib.crc32(data[:-4]) != be(data[-4:]), "E_QR_CHECKSUM")
    data = data[:-4]
    reject_if(data[0] != 1, "E_UNSUPPORTED_VERSION")
    reject_if(data[1] & 0xFC, "E_UNKNOWN_FLAGS")
    o = {"ownerSignPublic": data[2:34], "ownerBoxPublic": data[34:66], "secret": data[66:82],
         "expiresAt": read_u(data, 82, 8), "provisionToken": data[90:106]}
    a = read_u(data, 106, 1)
    reject_if(107 + a > len(data), "E_MALFORMED", "account")
    o["account"] = data[107:107 + a].decode("ascii", "replace")
    u = read_u(data, 107 + a, 1)
    at = 108 + a
    reject_if(at + u > len(data), "E_MALFORMED", "url")
    o["relayUrl"] = data[at:at + u].decode("ascii", "replace")
    at += u
    if data[1] & 2:  # PIN: the relay's key fingerprint (§3.1, §15.8)
        reject_if(at + 32 > len(data), "E_MALFORMED", "fingerprint")
        o["relayFingerprint"] = data[at:at + 32]
        at += 32
    if data[1] & 1:
        n = read_u(data, at, 1)
        at += 1 + n
        m = read_u(data, at, 1)
        at += 1 + m
    reject_if(at != len(data), "E_MALFORMED", "trailing bytes")
    reject_if(not 1 <= a <= 64 or not ACCOUNT_RE.fullmatch(o["account"]), "E_MALFORMED", "account")
    reject_if(not 1 <= u <= 120 or not URL_RE.fullmatch(o["relayUrl"]), "E_MALFORMED", "url")
    reject_if("relayFingerprint" in o and not o["relayUrl"].startswith("https://"), "E_MALFORMED", "a pin needs https")
    accept_public_identity(o["ownerSignPublic"], o["ownerBoxPublic"])
    return o


class PairingSide:
    """The owner's (answer, reveal) and the camera's (owner nonce, roster) checks of §3.3 and §3.4."""

    def __init__(self, offer, now):
        self.o, self.now, self.answer = offer, now, None
        self.pid = hashlib.sha512(PAIR_ID_CTX + offer["secret"]).digest()[:16]
        self.key = hashlib.sha512(PAIR_KEY_CTX + offer["secret"] + offer["ownerSignPublic"] + offer["ownerBoxPublic"]).digest()[:32]

    def open(self, msg, kind):
        reject_if(len(msg) < 4, "E_MALFORMED")
        reject_if(msg[0:4] != b"SCP1", "E_BAD_MAGIC")
        reject_if(read_u(msg, 4, 1) != 2, "E_UNSUPPORTED_VERSION")
        reject_if(read_u(msg, 5, 1) not in (3, 4, 5, 6), "E_UNKNOWN_KIND")
        reject_if(read_u(msg, 6, 2) != 0, "E_MALFORMED", "reserved")
        reject_if(len(msg) < 32, "E_MALFORMED")
        pt = secretbox_open(msg[32:], msg[8:32], self.key)
        reject_if(pt is None or pt[:24] != msg[:8] + self.pid, "E_PAIRING_MAC")
        reject_if(msg[5] != kind, "E_UNKNOWN_KIND", "not the kind expected next")
        return pt[24:]

    def open_answer(self, msg):
        body = self.open(msg, 3)
        reject_if(self.now > self.o["expiresAt"], "E_PAIRING_EXPIRED")
        reject_if(len(body) != 192, "E_MALFORMED", "answer length")
        sign_pk, box_pk, echo, c, sig = body[0:32], body[32:64], body[64:96], body[96:128], body[128:192]
        reject_if(echo != self.o["ownerSignPublic"], "E_PAIRING_MAC", "another owner")
        accept_public_identity(sign_pk, box_pk)
        reject_if(not ed25519_verify(sig, PAIR_ANSWER_CTX + self.pid + body[:128], sign_pk), "E_BAD_SIGNATURE")
        self.answer = (sign_pk, box_pk, c)
        return self.answer

    def commitment(self, sign_pk, box_pk, nc):
        return hashlib.sha512(PAIR_COMMIT_CTX + self.pid + sign_pk + box_pk + self.o["ownerSignPublic"] + nc).digest()[:32]

    def open_reveal(self, msg):
        nc = self.open(msg, 5)
        reject_if(len(nc) != 32, "E_MALFORMED", "nonce length")
        sign_pk, box_pk, c = self.answer
        reject_if(self.commitment(sign_pk, box_pk, nc) != c, "E_PAIRING_COMMITMENT")
        return nc

    def open_owner_nonce(self, msg):
        na = self.open(msg, 4)
        reject_if(len(na) != 32, "E_MALFORMED", "nonce length")
        return na

    def open_roster(self, msg):
        return open_roster(self.open(msg, 6), self.o["ownerSignPublic"])

    def code(self, sign_pk, box_pk, na, nc):
        h = hashlib.sha512(PAIR_CONFIRM_CTX + self.o["secret"] + self.o["ownerSignPublic"] + self.o["ownerBoxPublic"]
                           + sign_pk + box_pk + na + nc).digest()
        return f"{be(h[:4]) % 1_000_000:06d}"


def run_pairing(pv):
    """test/vectors/pairing.json: the code, the derived values, the handshake, every invalid case."""
    x, out = bytes.fromhex, []

    def valid():
        o = decode_qr(pv["qr"])
        got = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in o.items()}
        if got != {k: v for k, v in pv["offer"].items() if k != "version"}:
            return False, f"offer {got}"
        side, d, m = PairingSide(o, pv["now"]), pv["derived"], pv["messages"]
        if side.pid.hex() != d["pairingId"] or side.key.hex() != d["pairingKey"]:
            return False, "pairingId / pairingKey"
        sign_pk, box_pk, c = side.open_answer(x(m["answer"]))
        if c.hex() != d["commitment"] or compute_id(sign_pk, box_pk).hex() != pv["camera"]["id"]:
            return False, "answer"
        na, nc = side.open_owner_nonce(x(m["ownerNonce"])), side.open_reveal(x(m["reveal"]))
        if (na.hex(), nc.hex()) != (d["ownerNonce"], d["cameraNonce"]):
            return False, "nonces"
        if side.code(sign_pk, box_pk, na, nc) != d["confirmationCode"]:
            return False, "confirmation code"
        roster = side.open_roster(x(m["roster"]))
        return roster["cameraId"].hex() == pv["camera"]["id"], f"code {d['confirmationCode']}"
    ok, detail = guarded(valid)
    out.append({"name": "the handshake", "expected": None, "got": None, "ok": ok, "detail": detail})
    for case in pv["invalid"]:
        r = {"name": case["name"], "expected": case["error"], "got": None, "ok": False}
        try:
            side = PairingSide(decode_qr(pv["qr"]), case["now"])
            for k, step in enumerate(case["steps"]):
                try:
                    if step["type"] == "qr":
                        reject_if(case["now"] > decode_qr(step["data"])["expiresAt"], "E_PAIRING_EXPIRED")
                    else:
                        {"answer": side.open_answer, "reveal": side.open_reveal, "ownerNonce": side.open_owner_nonce,
                         "roster": side.open_roster}[step["type"]](x(step["data"]))
                except SealcamError as e:
                    r["got"] = e.code
                    r["ok"] = k == len(case["steps"]) - 1 and e.code == case["error"]
                    break
        except Exception as e:
            r["detail"] = f"exception {type(e).__name__}: {e}"
        out.append(r)
    return out


# ---------------------------------------------------------------- vector runner

def new_viewer(v, who="viewer"):
    """A fresh viewer ("viewer" or "stranger") pinned to the vector camera; ids must match §2."""
    x, cam, me = bytes.fromhex, v["camera"], v[who]
    viewer = Viewer(x(cam["signPublicKey"]), x(cam["boxPublicKey"]), x(me["id"]), x(me["boxSecretKey"]))
    assert viewer.cam_id.hex() == cam["id"], "camera id does not match §2"
    assert compute_id(x(me["signPublicKey"]), x(me["boxPublicKey"])).hex() == me["id"], "viewer id"
    return viewer


class CameraRosterCheck:
    """§12 `roster` steps: the camera's §4.4 check against the viewer's (owner's) signing key."""

    def __init__(self, vec):
        self.owner = bytes.fromhex(vec["viewer"]["signPublicKey"])
        self.camera_id = bytes.fromhex(vec["camera"]["id"])
        self.version = open_roster(bytes.fromhex(vec["roster"]), self.owner)["rosterVersion"]

    def push(self, data):
        self.version = accept_roster_update(data, self.owner, self.camera_id, self.version)["rosterVersion"]


def run_step(viewer, reassembler, step, rosters=None):
    kind, hx = step["type"], step["hex"]
    if kind == "segment" and hx == "end":
        return viewer.stream.assert_complete()
    if kind == "roster":
        return rosters.push(bytes.fromhex(hx))
    if kind == "transport":  # §12: an envelope the reassembler yields is opened at once
        envelope = reassembler.push(bytes.fromhex(hx))
        return None if envelope is None else viewer.open_segment(envelope)
    if kind == "segment":
        h, payloads, verdict = viewer.open_segment(bytes.fromhex(hx))
        if h["kind"] == 3:  # §16: a viewer reads the event record it opened
            decode_event(b"".join(payloads))
        return h, payloads, verdict
    action = {"announcement": viewer.open_announcement, "live": viewer.accept_live, "seal": viewer.confirm_live}
    return action[kind](bytes.fromhex(hx))


def guarded(fn):
    try:
        return fn()
    except SealcamError as e:
        return False, f"unexpected {e.code}: {e}"
    except Exception as e:  # a bug in this reader, reported rather than crashing the run
        return False, f"exception {type(e).__name__}: {e}"


def run_valid(vec):
    """Open the roster (the viewer is its owner) and the announcement, then each envelope in order."""
    x, viewer, results = bytes.fromhex, new_viewer(vec), []

    def setup():
        roster = open_roster(x(vec["roster"]), x(vec["viewer"]["signPublicKey"]))
        if roster["cameraId"] != viewer.cam_id or compute_id(*roster["entries"][0]) != viewer.my_id:
            return False, "roster names another camera or owner"
        viewer.open_announcement(x(vec["announcement"]))
        held = {str(e): k.hex() for e, k in viewer.keyring.keys.items()}
        return held == vec["epochKeys"], "unwrapped epoch keys vs epochKeys"
    ok, detail = guarded(setup)
    if not ok:
        return [{"name": "roster and announcement", "ok": False, "detail": detail}]
    for case in vec["valid"]:
        def one(case=case):
            h, payloads, verdict = viewer.open_segment(x(case["hex"]))
            got = {"kind": {1: "init", 2: "media"}[h["kind"]], "seq": h["seq"], "epoch": h["epoch"],
                   "final": h["final"], "captureTime": h["captureTime"], "durationMs": h["durationMs"],
                   "chunks": [p.hex() for p in payloads]}
            diff = [k for k in case["expect"] if case["expect"][k] != got.get(k)]
            return not diff, (f"mismatch in {diff}" if diff else f"verdict {verdict}")
        ok, detail = guarded(one)
        results.append({"name": case["name"], "ok": ok, "detail": detail})
    ok, detail = guarded(lambda: (viewer.stream.assert_complete(), (True, ""))[1])
    if not ok:  # the valid stream ends with a FINAL segment
        results.append({"name": "end of the valid stream", "ok": False, "detail": detail})
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


def run_recipients(vec):
    """One announcement for two viewers: each, alone, unwraps the same key and opens the segment."""
    rec, x, out = vec["recipients"], bytes.fromhex, []
    for who in ("viewer", "stranger"):
        def go(who=who):
            viewer = new_viewer(vec, who)
            if viewer.open_announcement(x(rec["announcement"])) != rec["epoch"]:
                return False, "epoch"
            if viewer.keyring.get(rec["epoch"]).hex() != rec["epochKey"]:
                return False, "unwrapped key differs from epochKey"
            h, payloads, _ = viewer.open_segment(x(rec["segment"]))
            got = {"seq": h["seq"], "epoch": h["epoch"], "chunks": [p.hex() for p in payloads]}
            return got == rec["expect"], f"opened seq {h['seq']}"
        ok, detail = guarded(go)
        out.append({"name": who, "ok": ok, "detail": detail})
    return out


def run_padded(vec):
    """§6.5: a padded segment opens to its payloads, as an envelope and as live chunks + seal."""
    pad, x = vec["padded"], bytes.fromhex
    def go():
        viewer = new_viewer(vec)
        viewer.open_announcement(x(vec["announcement"]))
        h, payloads, _ = viewer.open_segment(x(pad["envelope"]))
        got = {"seq": h["seq"], "epoch": h["epoch"], "chunks": [p.hex() for p in payloads]}
        if got != pad["expect"] or h["bodyLength"] != pad["bodyLength"]:
            return False, "envelope payloads differ"
        live = new_viewer(vec)
        live.open_announcement(x(vec["announcement"]))
        if [live.accept_live(x(c)).hex() for c in pad["live"]] != pad["expect"]["chunks"]:
            return False, "live payloads differ"
        if [len(x(c)) - 72 for c in pad["live"]] != pad["ctLengths"]:
            return False, "ct lengths differ"
        return True, f"seal confirmed, verdict {live.confirm_live(x(pad['seal']))}"
    ok, detail = guarded(go)
    return {"ok": ok, "detail": detail}


def run_sessions(vec):
    """§7.5 session transcripts: each step's events and the final counters must match."""
    x, out = bytes.fromhex, []
    for case in vec["sessions"]:
        def go(case=case):
            viewer, o = new_viewer(vec), case["options"]
            snap = o.get("snapshot")
            if snap:  # §8.5
                viewer.stream.highest_seq, viewer.stream.highest_epoch = snap["highestSeq"], snap["highestEpoch"]
                viewer.stream.window, viewer.stream.final_seen = int(snap["window"], 16), snap["finalSeen"]
            er = o.get("expectedRoster")
            session = LiveSession(viewer, o.get("maxAgeMs", 8000), o.get("maxSkewMs", 5000),
                                  expected_roster=(er["rosterVersion"], {x(i) for i in er["viewerIds"]}) if er else None)
            for k, step in enumerate(case["steps"]):
                if step["channel"] == "tick":
                    got = session.tick(step["now"])
                else:
                    got = session.handle(step["channel"], x(step["hex"]), step["now"])
                if got != step["events"]:
                    return False, f"step {k}: {got} != {step['events']}"
            if session.stats != case["stats"]:
                return False, f"stats {session.stats} != {case['stats']}"
            return True, f"{len(case['steps'])} steps"
        ok, detail = guarded(go)
        out.append({"name": case["name"], "ok": ok, "detail": detail})
    return out


def run_event(vec):
    """§16: a kind-3 envelope opens like any segment, and its record decodes to expect."""
    ev = vec["event"]
    def go():
        viewer = new_viewer(vec)
        viewer.open_announcement(bytes.fromhex(vec["announcement"]))
        h, payloads, _ = viewer.open_segment(bytes.fromhex(ev["envelope"]))
        e = decode_event(b"".join(payloads))
        got = {"seq": h["seq"], "epoch": h["epoch"], "kind": {3: "event"}.get(h["kind"]), **e}
        if got != ev["expect"] or h["captureTime"] != e["startTime"] or h["durationMs"] != e["endTime"] - e["startTime"]:
            return False, f"got {got}"
        return True, f"event {e['startTime']}..{e['endTime']}"
    ok, detail = guarded(go)
    return {"ok": ok, "detail": detail}


def run_invalid(vec, case):
    viewer, reassembler, steps = new_viewer(vec, case.get("viewer", "viewer")), Reassembler(), case["steps"]
    rosters = CameraRosterCheck(vec)
    out = {"name": case["name"], "expected": case["error"], "got": None, "ok": False}
    for k, step in enumerate(steps):
        try:
            run_step(viewer, reassembler, step, rosters)
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


def open_history(directory, viewer, out_path):
    """§15.4 and §15.7: a `device run --out` directory as a history. Add every announcement, open
    every envelope in seq order, cut runs (an identical init continues its run, events add nothing),
    decode the events (§16), and write the last run's playable file."""
    import os
    names = sorted(os.listdir(directory))
    report = {"announcements": 0, "opened": 0, "rejected": [], "events": [], "kinds": [], "final": False}
    for n in names:
        if n.startswith("epoch-") and n.endswith(".sck"):
            with open(os.path.join(directory, n), "rb") as fh:
                viewer.open_announcement(fh.read())
            report["announcements"] += 1
    runs = []
    for n in names:
        if not (n.startswith("seg-") and n.endswith(".scs")):
            continue
        with open(os.path.join(directory, n), "rb") as fh:
            env = fh.read()
        try:
            h, payloads, _ = viewer.open_segment(env)
        except SealcamError as e:
            report["rejected"].append({"file": n, "code": e.code})
            continue
        body = b"".join(payloads)
        report["opened"] += 1
        report["kinds"].append({1: "init", 2: "media", 3: "event"}[h["kind"]])
        report["final"] = h["final"]
        if h["kind"] == 1:
            if not runs or runs[-1]["init"] != body:
                runs.append({"init": body, "media": []})
        elif h["kind"] == 3:
            e = decode_event(body)
            report["events"].append({k: e[k] for k in ("startTime", "endTime", "peakPermille", "firstSeq", "lastSeq", "thumbnailType")} | {"seq": h["seq"]})
        elif runs:
            runs[-1]["media"].append(body)
    mp4 = runs[-1]["init"] + b"".join(runs[-1]["media"]) if runs and runs[-1]["media"] else b""
    with open(out_path, "wb") as fh:
        fh.write(mp4)
    report["mp4Bytes"] = len(mp4)
    return report


def main(argv):
    global SODIUM
    history = len(argv) >= 2 and argv[1] == "--history"
    if (history and len(argv) != 8) or (not history and len(argv) not in (2, 3)):
        print(f"usage: {argv[0]} test/vectors/segments.json [test/vectors/pairing.json]\n"
              f"   or: {argv[0]} --history DIR camera-sign-pk camera-box-pk viewer-id viewer-box-sk out.mp4 (keys in hex)",
              file=sys.stderr)
        return 2
    SODIUM = load_sodium()
    if SODIUM is None:
        print("sealcam_reader: libsodium not found (install libsodium23)", file=sys.stderr)
        return 3
    if history:
        x = bytes.fromhex
        report = open_history(argv[2], Viewer(x(argv[3]), x(argv[4]), x(argv[5]), x(argv[6])), argv[7])
        print(json.dumps(report, indent=2))
        return 0 if not report["rejected"] else 1
    with open(argv[1]) as fh:
        vec = json.load(fh)
    report = {"valid": run_valid(vec), "live": run_live(vec), "transport": run_transport(vec),
              "recipients": run_recipients(vec), "padded": run_padded(vec), "sessions": run_sessions(vec), "event": run_event(vec), "invalid": [run_invalid(vec, c) for c in vec["invalid"]]}
    oks = ([r["ok"] for r in report["valid"]] + [report["live"]["ok"], report["transport"]["ok"]]
           + [r["ok"] for r in report["recipients"]] + [report["padded"]["ok"]]
           + [r["ok"] for r in report["sessions"]] + [report["event"]["ok"]]
           + [r["ok"] for r in report["invalid"]])
    if len(argv) == 3:
        with open(argv[2]) as fh:
            report["pairing"] = run_pairing(json.load(fh))
        oks += [r["ok"] for r in report["pairing"]]
    report["passed"], report["failed"] = sum(oks), len(oks) - sum(oks)
    print(json.dumps(report, indent=2))
    return 0 if report["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
