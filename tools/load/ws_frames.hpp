// RFC 6455 framing from the client's side, written for this tool alone: a
// load generator must not share the framing code (or the bugs) of the server
// it measures.
//
// Writer: a client frame is header (2, 4 or 10 bytes) + 4-byte mask key +
// masked payload (§5.2, §5.3). write_client_header() writes header and key;
// the caller puts the payload right after and masks it with mask_payload().
//
// Reader: ServerFrameReader takes server-to-client frames (unmasked, §5.1) in
// any chunking. Contract of feed(p, n, sink): consumes all n bytes and returns
// true, or returns false on a protocol error (error() says which, and the
// reader is then unusable). It allocates nothing and does no I/O. Data payload
// is never buffered: each chunk goes to sink.on_data() as it arrives, with
// `last` set on the chunk that ends the message, so a caller can verify bytes
// in place or parse a message that arrived whole without copying it. Only a
// partial header (< 10 bytes) and a control payload (<= 125 bytes) are kept.
// Control frames may arrive between the fragments of a message (§5.4).
//
// Sink (each returns false to stop with an error that the sink records):
//   bool on_message_begin(uint8_t opcode)               // 1 text, 2 binary
//   bool on_data(const uint8_t* p, size_t n, bool last) // payload, in order
//   bool on_ping(const uint8_t* p, size_t n)
//   bool on_pong()
//   bool on_close(uint16_t code)                        // 1005: no code sent
// An empty message gives on_message_begin and one on_data(p, 0, true).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace load::ws {

enum Opcode : uint8_t {
  kOpContinuation = 0x0,
  kOpText = 0x1,
  kOpBinary = 0x2,
  kOpClose = 0x8,
  kOpPing = 0x9,
  kOpPong = 0xA,
};

// Largest client frame header including the mask key.
inline constexpr size_t kMaxClientHeader = 14;
inline constexpr size_t kMaxControlPayload = 125;

inline constexpr size_t client_header_size(uint64_t len) {
  return len < 126 ? 6 : len <= 0xFFFF ? 8 : 14;
}

// Writes a FIN frame header with the mask bit and `key` (wire order: the
// key's bytes as they sit in memory). Returns the header length (6, 8 or 14).
inline size_t write_client_header(uint8_t* out, uint8_t opcode, uint64_t len, uint32_t key) {
  size_t n = 0;
  out[n++] = uint8_t(0x80 | opcode);
  if (len < 126) {
    out[n++] = uint8_t(0x80 | len);
  } else if (len <= 0xFFFF) {
    out[n++] = 0x80 | 126;
    out[n++] = uint8_t(len >> 8);
    out[n++] = uint8_t(len);
  } else {
    out[n++] = 0x80 | 127;
    for (int i = 7; i >= 0; --i) out[n++] = uint8_t(len >> (8 * i));
  }
  std::memcpy(out + n, &key, 4);
  return n + 4;
}

// XORs p[i] with byte i % 4 of the key as write_client_header laid it out.
// Eight bytes at a time: masking is on the hot path of every send.
inline void mask_payload(uint8_t* p, size_t n, uint32_t key) {
  uint64_t k8 = uint64_t(key) | (uint64_t(key) << 32);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= k8;
    std::memcpy(p + i, &w, 8);
  }
  uint8_t kb[4];
  std::memcpy(kb, &key, 4);
  for (; i < n; ++i) p[i] ^= kb[i & 3];
}

class ServerFrameReader {
 public:
  const char* error() const { return error_; }
  bool in_message() const { return in_message_; }

  template <class Sink>
  bool feed(const uint8_t* p, size_t n, Sink& sink) {
    if (error_) return false;
    while (n > 0) {
      if (!in_frame_) {
        // Header: spill byte by byte; a server header is at most 10 bytes.
        hdr_[hdr_len_++] = *p++;
        --n;
        if (!header_complete()) continue;
        if (!begin_frame(sink)) return false;
        if (left_ > 0) continue;
        // An empty data frame has no payload chunk to carry `last`.
        if (opcode_ < 0x8 && !sink.on_data(p, 0, fin_)) return fail("data rejected");
        if (!end_frame(sink)) return false;
        continue;
      }
      size_t take = left_ < n ? size_t(left_) : n;
      left_ -= take;
      if (opcode_ >= 0x8) {
        std::memcpy(ctrl_ + ctrl_len_, p, take);
        ctrl_len_ = uint8_t(ctrl_len_ + take);
      } else if (!sink.on_data(p, take, left_ == 0 && fin_)) {
        return fail("data rejected");
      }
      p += take;
      n -= take;
      if (left_ == 0 && !end_frame(sink)) return false;
    }
    return true;
  }

 private:
  bool header_complete() const {
    if (hdr_len_ < 2) return false;
    uint8_t len7 = hdr_[1] & 0x7F;
    size_t need = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
    return hdr_len_ >= need;
  }

  bool fail(const char* why) {
    if (!error_) error_ = why;
    return false;
  }

  template <class Sink>
  bool begin_frame(Sink& sink) {
    const bool fin = hdr_[0] & 0x80;
    const uint8_t op = hdr_[0] & 0x0F;
    if (hdr_[0] & 0x70) return fail("RSV bits set without an extension");
    if (hdr_[1] & 0x80) return fail("server frame is masked");
    uint64_t len = hdr_[1] & 0x7F;
    if (len == 126) {
      len = uint64_t(hdr_[2]) << 8 | hdr_[3];
      if (len < 126) return fail("16-bit length not minimal");
    } else if (len == 127) {
      len = 0;
      for (int i = 2; i < 10; ++i) len = len << 8 | hdr_[i];
      if (len >> 63) return fail("64-bit length has its top bit set");
      if (len <= 0xFFFF) return fail("64-bit length not minimal");
    }
    hdr_len_ = 0;
    in_frame_ = true;
    fin_ = fin;
    opcode_ = op;
    left_ = len;
    if (op >= 0x8) {
      if (op != kOpClose && op != kOpPing && op != kOpPong) return fail("reserved control opcode");
      if (!fin) return fail("fragmented control frame");
      if (len > kMaxControlPayload) return fail("control frame longer than 125 bytes");
      ctrl_len_ = 0;
      return true;
    }
    if (op == kOpContinuation) {
      if (!in_message_) return fail("continuation frame outside a message");
    } else if (op != kOpText && op != kOpBinary) {
      return fail("reserved data opcode");
    } else {
      if (in_message_) return fail("new message inside a fragmented one");
      in_message_ = true;
      if (!sink.on_message_begin(op)) return fail("message rejected");
    }
    return true;
  }

  template <class Sink>
  bool end_frame(Sink& sink) {
    in_frame_ = false;
    switch (opcode_) {
      case kOpPing:
        return sink.on_ping(ctrl_, ctrl_len_) || fail("ping rejected");
      case kOpPong:
        return sink.on_pong() || fail("pong rejected");
      case kOpClose: {
        if (ctrl_len_ == 1) return fail("close payload of 1 byte");
        uint16_t code = ctrl_len_ >= 2 ? uint16_t(ctrl_[0] << 8 | ctrl_[1]) : 1005;
        return sink.on_close(code) || fail("close rejected");
      }
      default:
        if (fin_) in_message_ = false;
        return true;
    }
  }

  const char* error_ = nullptr;
  uint64_t left_ = 0;
  uint8_t hdr_[10];
  uint8_t hdr_len_ = 0;
  uint8_t opcode_ = 0;
  bool in_frame_ = false;
  bool fin_ = false;
  bool in_message_ = false;
  uint8_t ctrl_len_ = 0;
  uint8_t ctrl_[kMaxControlPayload];
};

}  // namespace load::ws
