// Client-side RFC 6455 framing for the bench client, written apart from the
// server's code on purpose: a load tool must not share the bugs it measures.
//
// Writer: a client frame is header (2, 4 or 10 bytes) + 4-byte mask key +
// masked payload. write_client_header() writes header and key; the caller
// writes the payload right after and masks it with mask_payload().
//
// Reader: ServerFrameReader takes server-to-client frames (unmasked, §5.1) in
// any chunking. Contract of feed(p, n, sink): consumes all n bytes and returns
// true, or returns false on a protocol error (error() says which; the reader
// is then unusable). It allocates nothing and does no I/O. Data payload is
// never buffered: each chunk goes to sink.on_data() as it arrives, so the
// caller verifies bytes in place. Only a partial header (< 10 bytes) and a
// control payload (<= 125 bytes) are kept inside.
//
// Sink (all return false to stop with an error, which the sink records):
//   bool on_message_begin(uint8_t opcode)        // 1 text, 2 binary
//   bool on_data(const uint8_t* p, size_t n)     // payload of the message
//   bool on_message_end()                        // FIN frame finished
//   bool on_ping(const uint8_t* p, size_t n)
//   bool on_pong()
//   bool on_close(uint16_t code)                 // 1005 when no code sent
#pragma once

#include <cstdint>
#include <cstring>

namespace bench {

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

// Writes a FIN frame header with the mask bit and `key` (wire byte order:
// key's little-endian bytes). Returns the header length (6, 8 or 14).
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

// XORs p[i] with the i-th byte of the key (as laid out by write_client_header).
inline void mask_payload(uint8_t* p, size_t n, uint32_t key) {
  uint64_t k8;
  std::memcpy(&k8, &key, 4);
  std::memcpy(reinterpret_cast<uint8_t*>(&k8) + 4, &key, 4);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= k8;
    std::memcpy(p + i, &w, 8);
  }
  const uint8_t* kb = reinterpret_cast<const uint8_t*>(&key);
  for (; i < n; ++i) p[i] ^= kb[i & 3];
}

class ServerFrameReader {
 public:
  const char* error() const { return error_; }

  template <class Sink>
  bool feed(const uint8_t* p, size_t n, Sink& sink) {
    while (n > 0) {
      if (left_ == 0) {
        // Header: spill byte by byte; headers are at most 10 bytes.
        hdr_[hdr_len_++] = *p++;
        --n;
        if (!header_complete()) continue;
        if (!begin_frame(sink)) return false;
        if (left_ == 0 && !end_frame(sink)) return false;
        continue;
      }
      size_t take = left_ < n ? size_t(left_) : n;
      if (opcode_ >= 0x8) {
        std::memcpy(ctrl_ + ctrl_len_, p, take);
        ctrl_len_ += take;
      } else if (!sink.on_data(p, take)) {
        return fail("data rejected");
      }
      p += take;
      n -= take;
      left_ -= take;
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
    bool fin = hdr_[0] & 0x80;
    uint8_t op = hdr_[0] & 0x0F;
    if (hdr_[0] & 0x70) return fail("RSV bits set without an extension");
    if (hdr_[1] & 0x80) return fail("server frame is masked");
    uint64_t len = hdr_[1] & 0x7F;
    if (len == 126) {
      len = uint64_t(hdr_[2]) << 8 | hdr_[3];
      if (len < 126) return fail("16-bit length not minimal");
    } else if (len == 127) {
      len = 0;
      for (int i = 2; i < 10; ++i) len = len << 8 | hdr_[i];
      if (len >> 63) return fail("64-bit length has MSB set");
      if (len <= 0xFFFF) return fail("64-bit length not minimal");
    }
    hdr_len_ = 0;
    fin_ = fin;
    opcode_ = op;
    left_ = len;
    if (op >= 0x8) {
      if (op != kOpClose && op != kOpPing && op != kOpPong) return fail("reserved control opcode");
      if (!fin) return fail("fragmented control frame");
      if (len > kMaxControlPayload) return fail("control frame longer than 125");
      ctrl_len_ = 0;
      return true;
    }
    if (op == kOpContinuation) {
      if (!in_message_) return fail("continuation without a message");
      return true;
    }
    if (op != kOpText && op != kOpBinary) return fail("reserved data opcode");
    if (in_message_) return fail("new message inside a fragmented one");
    in_message_ = true;
    return sink.on_message_begin(op) || fail("message rejected");
  }

  template <class Sink>
  bool end_frame(Sink& sink) {
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
        if (!fin_) return true;
        in_message_ = false;
        return sink.on_message_end() || fail("message end rejected");
    }
  }

  const char* error_ = nullptr;
  uint64_t left_ = 0;
  uint8_t hdr_[10];
  uint8_t hdr_len_ = 0;
  uint8_t opcode_ = 0;
  bool fin_ = false;
  bool in_message_ = false;
  uint8_t ctrl_len_ = 0;
  uint8_t ctrl_[kMaxControlPayload];
};

}  // namespace bench
