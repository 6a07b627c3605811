// Helpers shared by the http unit tests.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <string_view>

namespace ringcast::http::test {

// Transcripts are written with plain "\n" so they read like a capture; the
// wire has CRLF.
inline std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// Copies bytes so that they end right before a PROT_NONE page: reading even
// one byte past the end faults (picohttpparser's trick), where ASan would
// need the allocation to be exactly sized.
class Guarded {
 public:
  explicit Guarded(std::string_view bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    pages_ = (bytes.size() + page - 1) / page + 1;
    len_ = pages_ * page;
    void* m = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = static_cast<char*>(m);
    mprotect(base_ + len_ - page, page, PROT_NONE);
    data_ = base_ + len_ - page - bytes.size();
    std::memcpy(data_, bytes.data(), bytes.size());
    size_ = bytes.size();
  }
  ~Guarded() { munmap(base_, len_); }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;

  std::string_view view() const { return {data_, size_}; }

 private:
  char* base_ = nullptr;
  char* data_ = nullptr;
  size_t size_ = 0, pages_ = 0, len_ = 0;
};

}  // namespace ringcast::http::test
