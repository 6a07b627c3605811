#include "core/out_buffer.hpp"

#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <new>

namespace ringcast::core {

namespace {

OutBuffer* allocate(size_t capacity, bool pooled) {
  void* mem = std::malloc(sizeof(OutBuffer) + capacity);
  if (!mem) return nullptr;
  auto* b = static_cast<OutBuffer*>(mem);
  b->refs = 1;
  b->capacity = uint32_t(capacity);
  b->used = 0;
  b->pooled = pooled ? 1 : 0;
  return b;
}

OutBuffer*& next_free(OutBuffer* b) { return *reinterpret_cast<OutBuffer**>(b->data()); }

}  // namespace

static thread_local unsigned dbg_alloc = 0, dbg_seg = 0;
OutPool::~OutPool() {
  fprintf(stderr, "DBG pool chunks allocated %u free %u segments %u\n", dbg_alloc, free_count_, dbg_seg);
  while (free_chunks_) {
    OutBuffer* n = next_free(free_chunks_);
    std::free(free_chunks_);
    free_chunks_ = n;
  }
  while (free_segments_) {
    Segment* n = free_segments_->next;
    delete free_segments_;
    free_segments_ = n;
  }
}

OutBuffer* OutPool::acquire(size_t min_bytes) {
  if (min_bytes > kChunkBytes) return allocate(min_bytes, false);
  if (free_chunks_) {
    OutBuffer* b = free_chunks_;
    free_chunks_ = next_free(b);
    --free_count_;
    b->refs = 1;
    b->used = 0;
    return b;
  }
  ++dbg_alloc; return allocate(kChunkBytes, true);
}

void OutPool::unref(OutBuffer* b) {
  if (--b->refs != 0) return;
  if (b->pooled && free_count_ < kMaxFreeChunks) {
    next_free(b) = free_chunks_;
    free_chunks_ = b;
    ++free_count_;
    return;
  }
  std::free(b);
}

Segment* OutPool::segment() {
  if (free_segments_) {
    Segment* s = free_segments_;
    free_segments_ = s->next;
    return s;
  }
  ++dbg_seg; return new (std::nothrow) Segment;
}

void OutPool::release(Segment* s) {
  s->next = free_segments_;
  free_segments_ = s;
}

uint8_t* OutQueue::reserve(OutPool& pool, size_t n) {
  // Extend the tail when this connection is the buffer's only holder and the
  // segment ends where the buffer's data ends; bytes already handed to the
  // kernel stay where they are, only new bytes are added after them.
  if (tail_ && tail_->buf->refs == 1 && tail_->offset + tail_->length == tail_->buf->used &&
      tail_->buf->capacity - tail_->buf->used >= n) {
    return tail_->buf->data() + tail_->buf->used;
  }
  OutBuffer* b = pool.acquire(n);
  if (!b) return nullptr;
  Segment* s = pool.segment();
  if (!s) {
    pool.unref(b);
    return nullptr;
  }
  s->buf = b;
  s->next = nullptr;
  s->offset = 0;
  s->length = 0;
  if (tail_) tail_->next = s; else head_ = s;
  tail_ = s;
  return b->data();
}

void OutQueue::commit(size_t n) {
  tail_->buf->used += uint32_t(n);
  tail_->length += uint32_t(n);
  bytes_ += n;
}

void OutQueue::append_shared(OutPool& pool, OutBuffer* b, uint32_t offset, uint32_t length) {
  Segment* s = pool.segment();
  if (!s) return;
  OutPool::ref(b);
  s->buf = b;
  s->next = nullptr;
  s->offset = offset;
  s->length = length;
  if (tail_) tail_->next = s; else head_ = s;
  tail_ = s;
  bytes_ += length;
}

int OutQueue::gather(iovec* iov, int max_iov) const {
  int n = 0;
  for (Segment* s = head_; s && n < max_iov; s = s->next) {
    if (s->length == 0) continue;
    iov[n].iov_base = s->buf->data() + s->offset;
    iov[n].iov_len = s->length;
    ++n;
  }
  return n;
}

void OutQueue::consume(OutPool& pool, size_t n) {
  bytes_ -= n;
  while (head_ && n >= head_->length) {
    n -= head_->length;
    Segment* s = head_;
    head_ = s->next;
    if (!head_) tail_ = nullptr;
    pool.unref(s->buf);
    pool.release(s);
  }
  if (n && head_) {
    head_->offset += uint32_t(n);
    head_->length -= uint32_t(n);
  }
}

void OutQueue::clear(OutPool& pool) {
  while (head_) {
    Segment* s = head_;
    head_ = s->next;
    pool.unref(s->buf);
    pool.release(s);
  }
  tail_ = nullptr;
  bytes_ = 0;
}

}  // namespace ringcast::core
