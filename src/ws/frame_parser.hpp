// RFC 6455 frame parser: bytes in, message chunks and control frames out.
//
// Pure and allocation-free: no I/O, no copies of input, no exceptions. The
// caller owns the bytes; the parser unmasks payload in place and hands out
// spans into them.
//
// Consumption contract (the connection relies on it):
//  * a frame header is consumed only once all of it (2..14 bytes) is present;
//  * a control frame is consumed only once header + payload are present;
//  * data payload is consumed as it arrives, split anywhere.
// So when feed returns ok with consumed < bytes.size(), the caller keeps the
// unconsumed tail (never more than kMaxUnconsumedTail bytes, still exactly
// as on the wire) and feeds it again with the next bytes appended.
// After `stopped`, the unconsumed bytes are likewise untouched and are fed
// again when the caller resumes (they may be longer than kMaxUnconsumedTail).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "ws/frame_writer.hpp"
#include "ws/mask.hpp"
#include "ws/opcode.hpp"
#include "ws/utf8.hpp"

namespace ringcast::ws {

// Longest tail feed() may leave unconsumed with status ok: a control frame
// whose payload (<= 125) has not fully arrived, behind the longest header
// (non-minimal length encodings are accepted, so that is 14 bytes).
constexpr size_t kMaxUnconsumedTail = kMaxFrameHeader + kMaxControlPayload;

// Must stay the same across the feeds of one connection.
struct ParserConfig {
  // Total payload of one message (sum of its fragments). Exceeding it fails
  // with 1009 as soon as the frame header announcing it is complete, before
  // any of that payload is delivered.
  uint64_t max_message_bytes = 16u << 20;
  // Server side: client frames must be masked (else 1002). false = client
  // side: frames must be unmasked (else 1002).
  bool expect_masked = true;
  // RSV bits (mask 0x70 of byte 0) a negotiated extension allows; any other
  // RSV bit set fails with 1002.
  uint8_t allowed_rsv = 0;
  // Validate text messages as UTF-8 (1007). Messages whose first frame has
  // RSV bits set are extension-encoded (e.g. compressed) and are never
  // validated here: the extension validates after decoding. Close reasons
  // are always validated (they are tiny and never extension-encoded).
  bool validate_utf8 = true;
};

enum class ParseStatus : uint8_t {
  ok,       // all bytes consumed, or the tail awaits more bytes (see above)
  stopped,  // the sink returned false; consumed counts through that chunk/frame
  closed,   // a valid close frame was delivered; nothing after it is read
  error,    // protocol violation; close_code says which close to send
};

struct ParseResult {
  size_t consumed;
  ParseStatus status;
  uint16_t close_code;  // set when status == error: 1002, 1007 or 1009; else 0
};

namespace detail {

struct FrameHeader {
  uint64_t payload_len;
  uint8_t mask[4];
  uint8_t size;    // header bytes on the wire, 2..14
  uint8_t opcode;  // a known opcode; reserved ones are rejected in decoding
  uint8_t rsv;     // byte 0 & 0x70
  bool fin;
};

enum class HeaderStatus : uint8_t { complete, need_more, error };

// Decodes and checks the frame header at p[0..n). Each violation is reported
// as soon as the bytes revealing it are present, so a bad header is refused
// the same way however it is split. On error sets close_code (1002 or 1009).
HeaderStatus decode_header(const uint8_t* p, size_t n, const ParserConfig& cfg, bool in_message,
                           uint64_t message_bytes, FrameHeader& h, uint16_t& close_code);

// Checks an unmasked close payload: returns 0 if valid, else 1002 (length 1,
// invalid code) or 1007 (reason not UTF-8).
uint16_t check_close_payload(const uint8_t* p, size_t n);

}  // namespace detail

// Sink (template parameter, duck-typed, no virtual calls):
//
//   bool on_data(Opcode message_opcode, std::span<const uint8_t> chunk, bool message_complete);
//     Payload bytes of a text/binary message, unmasked in place in the
//     caller's buffer, UTF-8 validated up to here for text. Called once per
//     contiguous chunk. message_complete is true on the final chunk of the
//     message, which may be empty (empty message, empty final continuation);
//     otherwise chunks are never empty. message_opcode is the message's
//     opcode (text/binary), also for its continuation frames.
//   bool on_control(Opcode op, std::span<const uint8_t> payload);
//     A complete ping/pong/close frame, unmasked. A close payload has been
//     validated (code, UTF-8 reason) before this is called.
//
// Returning true continues; false stops: feed returns `stopped` with consumed
// counting through that chunk/frame. The return value of on_control for a
// close frame is ignored: feed returns `closed` either way.
// A sink must not call feed() or reset() on the parser that is calling it.
class FrameParser {
 public:
  template <class Sink>
  ParseResult feed(std::span<uint8_t> bytes, Sink& sink, const ParserConfig& cfg);

  // Back to the initial state (also clears closed/error).
  void reset() { *this = FrameParser{}; }
  // A data message has begun (its first frame header was read) and has not
  // completed yet: fragmented, or its payload partly received.
  bool in_message() const { return msg_ != 0; }
  // RSV bits (0x70 mask) of the current message's first frame, valid inside
  // on_data; how permessage-deflate learns a message is compressed.
  uint8_t message_rsv() const { return msg_ & 0x70; }

 private:
  enum Terminal : uint8_t { kRunning, kClosed, kFailed1002, kFailed1007, kFailed1009 };
  enum class Step : uint8_t { next, stop, fail };

  template <class Sink>
  Step deliver_data(Sink& sink, const ParserConfig& cfg, uint8_t* chunk, size_t len, bool complete);
  ParseResult terminal_result() const;
  ParseResult fail(size_t consumed, uint16_t close_code);

  // Kept small on purpose: one parser lives in every connection and the
  // budget for an idle connection is < 256 bytes all told. The parser
  // therefore holds no input bytes (the caller keeps the unconsumed tail)
  // and only the state needed to resume mid-payload.
  uint64_t remaining_ = 0;      // payload bytes left in the current data frame
  uint64_t message_bytes_ = 0;  // payload of the current message so far (for 1009)
  uint8_t mask_[4] = {};        // current data frame's key
  Utf8Validator utf8_;          // one byte
  uint8_t msg_ = 0;             // message in progress: opcode (low nibble) | first frame RSV; 0 = none
  uint8_t mask_offset_ : 2 = 0;  // key byte for the next payload byte
  uint8_t frame_fin_ : 1 = 0;    // current data frame ends the message
  uint8_t terminal_ : 3 = kRunning;
};

static_assert(sizeof(FrameParser) <= 32, "FrameParser is per-connection state; keep it small");

template <class Sink>
FrameParser::Step FrameParser::deliver_data(Sink& sink, const ParserConfig& cfg, uint8_t* chunk,
                                            size_t len, bool complete) {
  const Opcode op = static_cast<Opcode>(msg_ & 0x0F);
  if (op == Opcode::text && cfg.validate_utf8 && (msg_ & 0x70) == 0) {
    // Fail fast: the chunk is refused (undelivered) once it makes the message
    // impossible, without waiting for the rest of the message.
    if (!utf8_.feed(chunk, len) || (complete && !utf8_.complete())) return Step::fail;
  }
  const bool go = sink.on_data(op, std::span<const uint8_t>(chunk, len), complete);
  if (complete) {
    msg_ = 0;
    message_bytes_ = 0;
  }
  return go ? Step::next : Step::stop;
}

template <class Sink>
ParseResult FrameParser::feed(std::span<uint8_t> bytes, Sink& sink, const ParserConfig& cfg) {
  if (terminal_ != kRunning) return terminal_result();
  uint8_t* const data = bytes.data();
  const size_t size = bytes.size();
  size_t pos = 0;
  for (;;) {
    if (remaining_ != 0) {
      if (pos == size) return {pos, ParseStatus::ok, 0};
      const size_t avail = size - pos;
      const size_t take = avail < remaining_ ? avail : static_cast<size_t>(remaining_);
      uint8_t* chunk = data + pos;
      if (cfg.expect_masked) {
        apply_mask(chunk, take, mask_, mask_offset_);
        mask_offset_ = static_cast<uint8_t>((mask_offset_ + take) & 3);
      }
      remaining_ -= take;
      const Step step = deliver_data(sink, cfg, chunk, take, remaining_ == 0 && frame_fin_);
      if (step == Step::fail) return fail(pos, 1007);
      pos += take;
      if (step == Step::stop) return {pos, ParseStatus::stopped, 0};
      continue;
    }
    if (pos == size) return {pos, ParseStatus::ok, 0};

    detail::FrameHeader h;
    uint16_t code = 0;
    const detail::HeaderStatus hs = detail::decode_header(data + pos, size - pos, cfg, msg_ != 0,
                                                          message_bytes_, h, code);
    if (hs == detail::HeaderStatus::need_more) return {pos, ParseStatus::ok, 0};
    if (hs == detail::HeaderStatus::error) return fail(pos, code);
    const Opcode op = static_cast<Opcode>(h.opcode);

    if (is_control(op)) {
      // decode_header bounded payload_len to 125, so this cannot overflow.
      const size_t len = static_cast<size_t>(h.payload_len);
      if (size - pos - h.size < len) return {pos, ParseStatus::ok, 0};
      uint8_t* payload = data + pos + h.size;
      if (cfg.expect_masked) apply_mask(payload, len, h.mask, 0);
      if (op == Opcode::close) {
        code = detail::check_close_payload(payload, len);
        if (code != 0) return fail(pos, code);
      }
      pos += h.size + len;
      const bool go = sink.on_control(op, std::span<const uint8_t>(payload, len));
      if (op == Opcode::close) {
        terminal_ = kClosed;
        return {pos, ParseStatus::closed, 0};
      }
      if (!go) return {pos, ParseStatus::stopped, 0};
      continue;
    }

    pos += h.size;
    if (op != Opcode::continuation) {
      msg_ = static_cast<uint8_t>(h.opcode | h.rsv);
      message_bytes_ = 0;
      utf8_.reset();
    }
    message_bytes_ += h.payload_len;
    frame_fin_ = h.fin;
    if (h.payload_len != 0) {
      remaining_ = h.payload_len;
      std::memcpy(mask_, h.mask, 4);
      mask_offset_ = 0;
      continue;
    }
    // An empty frame has no payload to stream; only the end of a message
    // needs reporting (an empty non-final fragment says nothing).
    if (h.fin) {
      const Step step = deliver_data(sink, cfg, data + pos, 0, true);
      if (step == Step::fail) return fail(pos - h.size, 1007);
      if (step == Step::stop) return {pos, ParseStatus::stopped, 0};
    }
  }
}

}  // namespace ringcast::ws
