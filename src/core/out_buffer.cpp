#include "core/out_buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>

namespace ringcast::core {

namespace {

OutBuffer* allocate(size_t capacity, uint32_t pooled) {
  void* mem = std::malloc(sizeof(OutBuffer) + capacity);
  if (!mem) return nullptr;
  auto* b = static_cast<OutBuffer*>(mem);
  b->refs = 1;
  b->capacity = uint32_t(capacity);
  b->used = 0;
  b->pooled = pooled;
  return b;
}

OutBuffer*& next_free(OutBuffer* b) { return *reinterpret_cast<OutBuffer**>(b->data()); }

}  // namespace

OutPool::~OutPool() {
  for (FreeList* l : {&chunks_, &small_}) {
    while (l->top) {
      OutBuffer* n = next_free(l->top);
      std::free(l->top);
      l->top = n;
    }
  }
  while (free_segments_) {
    Segment* n = free_segments_->next;
    delete free_segments_;
    free_segments_ = n;
  }
}

OutBuffer* OutPool::pop(FreeList& l) {
  OutBuffer* b = l.top;
  l.top = next_free(b);
  if (--l.count < l.low) l.low = l.count;
  b->refs = 1;
  b->used = 0;
  return b;
}

OutBuffer* OutPool::acquire(size_t min_bytes) {
  if (min_bytes > kChunkBytes) return allocate(min_bytes, 0);
  if (chunks_.top) return pop(chunks_);
  return allocate(kChunkBytes, 1);
}

OutBuffer* OutPool::acquire_small() {
  if (small_.top) return pop(small_);
  return allocate(kSmallChunkBytes, 2);
}

void OutPool::unref(OutBuffer* b) {
  if (--b->refs != 0) return;
  FreeList* l = b->pooled == 1 ? &chunks_ : b->pooled == 2 ? &small_ : nullptr;
  if (l && l->count < kMaxFreeChunks) {
    next_free(b) = l->top;
    l->top = b;
    ++l->count;
    return;
  }
  std::free(b);
}

void OutPool::trim(uint64_t now_ms) {
  if (now_ms - window_start_ms_ < kTrimWindowMs) return;
  window_start_ms_ = now_ms;
  trim(chunks_);
  trim(small_);
}

void OutPool::trim(FreeList& l) {
  // The list is a stack: its bottom `low` chunks were not taken all window.
  if (l.low != 0) {
    OutBuffer** link = &l.top;
    for (uint32_t i = l.low; i < l.count; ++i) link = &next_free(*link);
    OutBuffer* b = *link;
    *link = nullptr;
    while (b) {
      OutBuffer* n = next_free(b);
      std::free(b);
      b = n;
    }
    l.count -= l.low;
  }
  l.low = l.count;
}

Segment* OutPool::segment() {
  if (free_segments_) {
    Segment* s = free_segments_;
    free_segments_ = s->next;
    --free_segment_count_;
    return s;
  }
  return new (std::nothrow) Segment;
}

void OutPool::release(Segment* s) {
  // A burst that queued millions of messages must not keep their segments
  // for life: beyond the cap they go back to the allocator.
  if (free_segment_count_ >= kMaxFreeSegments) {
    delete s;
    return;
  }
  s->next = free_segments_;
  free_segments_ = s;
  ++free_segment_count_;
}

uint8_t* OutQueue::reserve(OutPool& pool, size_t n) {
  // Extend the tail when this connection is the buffer's only holder and the
  // segment ends where the buffer's data ends; bytes already handed to the
  // kernel stay where they are, only new bytes are added after them.
  if (tail_ && tail_->buf->refs == 1 && tail_->offset + tail_->length == tail_->buf->used &&
      tail_->buf->capacity - tail_->buf->used >= n) {
    return tail_->buf->data() + tail_->buf->used;
  }
  OutBuffer* b = !head_ && n <= OutPool::kSmallChunkBytes ? pool.acquire_small() : pool.acquire(n);
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
