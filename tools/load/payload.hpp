// Echo payloads that prove which message came back.
//
// Message `seq` on a connection is a per-worker random template (printable
// base64url characters for text frames, so text is valid ASCII; any byte for
// --binary), with the first 8 bytes replaced by (seq + salt) written in 6-bit
// printable characters. The salt is random per connection. So an echo that is
// reordered, duplicated, crossed over from another connection or corrupted
// fails verify(). Verification works on any chunk at any offset, so a large
// message is checked as it streams in, never buffered.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

namespace load {

class Payload {
 public:
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  static constexpr size_t kTagBytes = 8;

  template <class Rng>
  void init(uint64_t size, bool binary, Rng& rng) {
    size_ = size;
    tmpl_.reset(new uint8_t[size ? size : 1]);
    for (uint64_t i = 0; i < size; ++i) {
      uint8_t r = uint8_t(rng.next());
      tmpl_[i] = binary ? r : uint8_t(kAlphabet[r & 63]);
    }
  }

  uint64_t size() const { return size_; }

  void write(uint8_t* out, uint64_t tag) const {
    std::memcpy(out, tmpl_.get(), size_);
    for (uint64_t i = 0; i < kTagBytes && i < size_; ++i) out[i] = tag_byte(tag, i);
  }

  // Bytes [off, off + n) of message `tag`.
  bool verify(uint64_t tag, uint64_t off, const uint8_t* p, size_t n) const {
    if (off + n > size_) return false;
    size_t i = 0;
    for (; i < n && off + i < kTagBytes; ++i)
      if (p[i] != tag_byte(tag, off + i)) return false;
    return std::memcmp(p + i, tmpl_.get() + off + i, n - i) == 0;
  }

 private:
  static uint8_t tag_byte(uint64_t tag, uint64_t i) { return uint8_t(kAlphabet[(tag >> (6 * i)) & 63]); }
  uint64_t size_ = 0;
  std::unique_ptr<uint8_t[]> tmpl_;
};

}  // namespace load
