#include "autograd/value_cache.hpp"

#include <utility>
#include <vector>

#include "autograd/node.hpp"

namespace unroll::autograd {

namespace {
// Bounds: a step of the reference LSTM releases ~4 values per time step and reuses them in
// the next one, so a handful suffices; the byte bound keeps a large model's cache from
// holding more than a few of its biggest buffers.
constexpr std::size_t kMaxBuffers = 32;
constexpr std::size_t kMaxBytes = std::size_t{64} << 20;

struct Cache {
  std::vector<Tensor::storage_type> buffers;
  std::size_t bytes = 0;
};
Cache& cache() {
  thread_local Cache c;
  return c;
}
}  // namespace

void cache_value_buffer(Tensor& t) noexcept {
  const std::size_t b = t.size() * sizeof(float);
  Cache& c = cache();
  if (b == 0 || c.buffers.size() >= kMaxBuffers || c.bytes + b > kMaxBytes) {
    t = no_buffer();
    return;
  }
  try {
    c.buffers.push_back(std::move(t.storage()));
    c.bytes += b;
  } catch (...) {  // no room to remember it: free it instead
  }
  t = no_buffer();
}

bool take_cached_buffer(Tensor& t, std::size_t n) noexcept {
  Cache& c = cache();
  for (std::size_t j = c.buffers.size(); j-- > 0;) {
    if (c.buffers[j].size() != n) continue;
    if (t.size() != 0) cache_value_buffer(t);  // may push: take from index j after it
    Tensor::storage_type s = std::move(c.buffers[j]);
    if (j + 1 != c.buffers.size()) c.buffers[j] = std::move(c.buffers.back());
    c.buffers.pop_back();
    c.bytes -= n * sizeof(float);
    t.storage() = std::move(s);
    return true;  // t's shape still names its old size: the caller resizes (no allocation)
  }
  return false;
}

}  // namespace unroll::autograd
