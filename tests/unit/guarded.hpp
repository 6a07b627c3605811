// Shared by the unit tests that parse untrusted bytes (http, auth): a copy
// of the bytes that ends right before a PROT_NONE page, so that reading even
// one byte past the end faults (picohttpparser's trick), where ASan would
// need the allocation to be exactly sized.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace ringcast::test {

class Guarded {
 public:
  explicit Guarded(std::string_view bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    len_ = ((bytes.size() + page - 1) / page + 1) * page;
    void* m = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      std::perror("Guarded: mmap");
      std::abort();
    }
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
  size_t size_ = 0, len_ = 0;
};

}  // namespace ringcast::test
