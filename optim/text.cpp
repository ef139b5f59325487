#include "optim/text.hpp"

#include <charconv>
#include <stdexcept>

namespace unroll::optim::text {

std::string from_double(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void invalid_option(const std::string& who, const char* option, double v, const char* want) {
  throw std::invalid_argument(who + ": invalid " + option + " = " + from_double(v) + ", expected " +
                              want);
}

std::optional<double> to_double(const std::string& s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, v);
  if (s.empty() || r.ec != std::errc() || r.ptr != end) return std::nullopt;
  return v;
}

std::optional<std::int64_t> to_int(const std::string& s) {
  std::int64_t v = 0;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, v);
  if (s.empty() || r.ec != std::errc() || r.ptr != end) return std::nullopt;
  return v;
}

}  // namespace unroll::optim::text
