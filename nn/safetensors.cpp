#include "nn/safetensors.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

namespace unroll::nn {

// Tensor bytes are copied straight from/to memory, which is only right on a little-endian
// host (every platform the project targets).
static_assert(std::endian::native == std::endian::little,
              "safetensors I/O assumes a little-endian host");

namespace {

using json = nlohmann::json;

// A real header is a few KB to a few MB; anything bigger is corruption or an attack, and
// refusing it early avoids allocating whatever the first 8 bytes claim.
constexpr std::uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;
// safetensors headers nest 3 deep; the limit keeps a hostile "[[[[..." from costing time
// and memory in the JSON parser.
constexpr int kMaxJsonDepth = 32;

enum class Kind { Float, Int, Bool };
struct DType {
  const char* name;
  std::size_t size;
  Kind kind;
};
constexpr DType kDTypes[] = {
    {"F32", 4, Kind::Float}, {"F16", 2, Kind::Float}, {"BF16", 2, Kind::Float},
    {"F64", 8, Kind::Float}, {"I64", 8, Kind::Int},   {"I32", 4, Kind::Int},
    {"I16", 2, Kind::Int},   {"I8", 1, Kind::Int},    {"U64", 8, Kind::Int},
    {"U32", 4, Kind::Int},   {"U16", 2, Kind::Int},   {"U8", 1, Kind::Int},
    {"BOOL", 1, Kind::Bool},
};

std::string supported_dtypes() {
  std::string s;
  for (const auto& d : kDTypes) s += (s.empty() ? "" : ", ") + std::string(d.name);
  return s;
}

const DType* find_dtype(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

template <class T>
T load_le(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // the data section has no alignment guarantee
  return v;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu;
  const std::uint32_t mant = h & 0x3FFu;
  std::uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf / nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);  // rebias 15 -> 127
  } else if (mant == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half: value = mant * 2^-24, exact in float.
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

[[noreturn]] void fail(const std::string& what, const std::string& msg) {
  throw FormatError("safetensors '" + what + "': " + msg);
}

std::string json_type(const json& j) {
  return j.type_name();
}

// Depth of bracket nesting outside strings; stops counting once past the limit.
bool json_too_deep(const std::uint8_t* p, std::size_t n) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = static_cast<char>(p[i]);
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// A JSON number that is an integer >= 0 (not 2.0, not -1), as uint64.
bool as_count(const json& j, std::uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<std::uint64_t>();
    return true;
  }
  if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v < 0) return false;
    out = static_cast<std::uint64_t>(v);
    return true;
  }
  return false;
}

std::string describe(const json& j) {
  std::string s = j.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

struct Entry {
  std::string name;
  const DType* dtype;
  Shape shape;
  std::uint64_t begin, end;
};

Entry parse_entry(const std::string& what, const std::string& name, const json& e) {
  const std::string where = "tensor '" + name + "'";
  if (!e.is_object())
    fail(what, where + " is a JSON " + json_type(e) +
                   ", expected an object with dtype, shape and data_offsets");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!e.contains(key)) fail(what, where + " has no \"" + key + "\" field");

  Entry out{name, nullptr, {}, 0, 0};
  const json& dt = e["dtype"];
  if (!dt.is_string())
    fail(what, where + " dtype is a JSON " + json_type(dt) + ", expected a string");
  out.dtype = find_dtype(dt.get<std::string>());
  if (!out.dtype)
    fail(what, where + " has unknown dtype \"" + dt.get<std::string>() + "\", expected one of " +
                   supported_dtypes());

  const json& sh = e["shape"];
  if (!sh.is_array())
    fail(what, where + " shape is a JSON " + json_type(sh) + ", expected an array");
  std::uint64_t numel = 1;
  for (std::size_t i = 0; i < sh.size(); ++i) {
    std::uint64_t d;
    if (!as_count(sh[i], d))
      fail(what, where + " shape entry " + std::to_string(i) + " is " + describe(sh[i]) +
                     ", expected a non-negative integer");
    if (d > std::numeric_limits<std::size_t>::max() || __builtin_mul_overflow(numel, d, &numel))
      fail(what, where + " shape " + describe(sh) + " has an element count that overflows 64 bits");
    out.shape.push_back(static_cast<std::size_t>(d));
  }

  const json& off = e["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !as_count(off[0], out.begin) ||
      !as_count(off[1], out.end))
    fail(what, where + " data_offsets is " + describe(off) +
                   ", expected [begin, end] with non-negative integers");
  if (out.begin > out.end)
    fail(what, where + " data_offsets [" + std::to_string(out.begin) + ", " +
                   std::to_string(out.end) + "] has begin > end");

  std::uint64_t bytes;
  if (__builtin_mul_overflow(numel, out.dtype->size, &bytes))
    fail(what, where + " byte size of shape " + describe(sh) + " overflows 64 bits");
  if (out.end - out.begin != bytes)
    fail(what, where + " has " + std::to_string(out.end - out.begin) + " bytes in data_offsets [" +
                   std::to_string(out.begin) + ", " + std::to_string(out.end) + "], expected " +
                   std::to_string(bytes) + " = " + std::to_string(numel) + " elements (shape " +
                   shape_str(out.shape) + ") * " + std::to_string(out.dtype->size) + " bytes of " +
                   out.dtype->name);
  return out;
}

StoredTensor convert(const std::string& what, const Entry& e, const std::uint8_t* p) {
  StoredTensor st;
  st.dtype = e.dtype->name;
  st.shape = e.shape;
  const std::size_t n = numel(e.shape);
  const std::string dt = st.dtype;
  if (e.dtype->kind == Kind::Float) {
    Tensor t = Tensor::from_shape(e.shape);
    float* out = t.data();
    if (dt == "F32") {
      if (n) std::memcpy(out, p, n * 4);
    } else if (dt == "F16") {
      for (std::size_t i = 0; i < n; ++i) out[i] = half_to_float(load_le<std::uint16_t>(p + 2 * i));
    } else if (dt == "BF16") {
      for (std::size_t i = 0; i < n; ++i) out[i] = bf16_to_float(load_le<std::uint16_t>(p + 2 * i));
    } else {  // F64
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<double>(p + 8 * i));
    }
    st.data = std::move(t);
    return st;
  }
  IndexTensor t = IndexTensor::from_shape(e.shape);
  std::int64_t* out = t.data();
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t v;
    if (dt == "I64") {
      v = load_le<std::int64_t>(p + 8 * i);
    } else if (dt == "I32") {
      v = load_le<std::int32_t>(p + 4 * i);
    } else if (dt == "I16") {
      v = load_le<std::int16_t>(p + 2 * i);
    } else if (dt == "I8") {
      v = static_cast<std::int8_t>(p[i]);
    } else if (dt == "U64") {
      const auto u = load_le<std::uint64_t>(p + 8 * i);
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(what, "tensor '" + e.name + "' element " + std::to_string(i) + " = " +
                       std::to_string(u) + " does not fit int64");
      v = static_cast<std::int64_t>(u);
    } else if (dt == "U32") {
      v = load_le<std::uint32_t>(p + 4 * i);
    } else if (dt == "U16") {
      v = load_le<std::uint16_t>(p + 2 * i);
    } else if (dt == "U8") {
      v = p[i];
    } else {  // BOOL
      if (p[i] > 1)
        fail(what, "tensor '" + e.name + "' BOOL element " + std::to_string(i) + " is byte " +
                       std::to_string(p[i]) + ", expected 0 or 1");
      v = p[i];
    }
    out[i] = v;
  }
  st.data = std::move(t);
  return st;
}

std::string tensor_names(const SafetensorsFile& f) {
  std::string s;
  std::size_t k = 0;
  for (const auto& [name, t] : f.tensors) {
    if (k++ == 20) return s + ", ...";
    s += (s.empty() ? "" : ", ") + name;
  }
  return s.empty() ? "none" : s;
}

}  // namespace

// ---------------------------------------------------------------- accessors

const StoredTensor& SafetensorsFile::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end())
    fail(source, "no tensor named '" + name + "' (tensors: " + tensor_names(*this) + ")");
  return it->second;
}

const Tensor& SafetensorsFile::tensor(const std::string& name) const {
  const StoredTensor& t = at(name);
  if (!t.is_float())
    fail(source, "tensor '" + name + "' has integer dtype " + t.dtype +
                     ", expected a float dtype (F32, F16, BF16, F64)");
  return std::get<Tensor>(t.data);
}

const IndexTensor& SafetensorsFile::index_tensor(const std::string& name) const {
  const StoredTensor& t = at(name);
  if (t.is_float())
    fail(source, "tensor '" + name + "' has float dtype " + t.dtype +
                     ", expected an integer dtype (I64, I32, U8, BOOL, ...)");
  return std::get<IndexTensor>(t.data);
}

const std::string& SafetensorsFile::meta(const std::string& key) const {
  auto it = metadata.find(key);
  if (it == metadata.end()) fail(source, "__metadata__ has no key \"" + key + "\"");
  return it->second;
}

// ---------------------------------------------------------------- parse / load

SafetensorsFile parse_safetensors(const std::uint8_t* data, std::size_t size,
                                  const std::string& what) {
  if (size < 8 || data == nullptr)
    fail(what, "is " + std::to_string(size) +
                   " bytes, shorter than the 8-byte little-endian header length");
  const auto header_len = load_le<std::uint64_t>(data);
  if (header_len > kMaxHeaderBytes)
    fail(what, "header length " + std::to_string(header_len) + " exceeds the " +
                   std::to_string(kMaxHeaderBytes) + "-byte limit (corrupt length prefix?)");
  if (header_len > size - 8)
    fail(what, "header length " + std::to_string(header_len) + " is larger than the " +
                   std::to_string(size - 8) + " bytes after the length prefix");
  const std::uint8_t* hdr = data + 8;
  if (json_too_deep(hdr, header_len))
    fail(what, "header JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");

  json header;
  try {
    header = json::parse(hdr, hdr + header_len);
  } catch (const json::exception& e) {
    fail(what, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object())
    fail(what, "header is a JSON " + json_type(header) + ", expected an object");

  SafetensorsFile file;
  file.source = what;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object())
        fail(what, "__metadata__ is a JSON " + json_type(value) +
                       ", expected an object of string values");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string())
          fail(what, "__metadata__ value for \"" + k + "\" is a JSON " + json_type(v) +
                         ", expected a string");
        file.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(what, name, value));
  }

  const std::uint64_t data_size = size - 8 - header_len;
  for (const Entry& e : entries)
    if (e.end > data_size)
      fail(what, "tensor '" + e.name + "' data_offsets [" + std::to_string(e.begin) + ", " +
                     std::to_string(e.end) + "] run past the data section of " +
                     std::to_string(data_size) + " bytes");

  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const Entry& a = *by_offset[i - 1];
    const Entry& b = *by_offset[i];
    if (b.begin < a.end)
      fail(what, "tensors '" + a.name + "' [" + std::to_string(a.begin) + ", " +
                     std::to_string(a.end) + ") and '" + b.name + "' [" + std::to_string(b.begin) +
                     ", " + std::to_string(b.end) + ") overlap; each byte belongs to one tensor");
  }

  const std::uint8_t* payload = hdr + header_len;
  for (const Entry& e : entries) file.tensors.emplace(e.name, convert(what, e, payload + e.begin));
  return file;
}

SafetensorsFile load_safetensors(const std::string& path) {
  // A directory opens as a stream on Linux and "sizes" to 2^63 bytes; a device or FIFO has
  // no size at all. Refuse anything but a regular file before reading.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status))
    throw std::runtime_error("load_safetensors: '" + path + "' does not exist");
  if (!std::filesystem::is_regular_file(status))
    throw std::runtime_error(
        "load_safetensors: '" + path +
        "' is not a regular file (a directory?); expected a .safetensors file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("load_safetensors: cannot open '" + path + "'");
  const std::streamoff len = in.tellg();
  if (len < 0) throw std::runtime_error("load_safetensors: cannot size '" + path + "'");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(len));
  in.seekg(0);
  if (len > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), len))
    throw std::runtime_error("load_safetensors: read error on '" + path + "'");
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

// ---------------------------------------------------------------- save

namespace {

[[noreturn]] void io_fail(const std::string& op, const std::string& path, int err) {
  throw std::runtime_error("save_safetensors: " + op + " '" + path +
                           "' failed: " + std::strerror(err));
}

void write_all(int fd, const std::string& tmp, const void* buf, std::size_t n) {
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      io_fail("write to", tmp, errno);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Test hook UNROLL_FAULT_KILL_DURING_SAVE=1 (see save_safetensors).
bool kill_during_save() {
  const char* s = std::getenv("UNROLL_FAULT_KILL_DURING_SAVE");
  return s && std::strcmp(s, "1") == 0;
}

// Removes `<name>.tmp.<pid>` files left in `path`'s directory by saves whose process died
// (SIGKILL, power loss) before the rename. A temp file of a live process (another save of
// the same path in progress, or a pid reused since) is left alone.
void remove_stale_temps(const std::string& path) {
  const std::string dir = directory_of(path);
  const auto slash = path.find_last_of('/');
  const std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp.";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pid = static_cast<pid_t>(std::stol(digits));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    ::unlink((dir + "/" + name).c_str());
  }
  ::closedir(d);
}

}  // namespace

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Validate everything before the first byte is written.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    auto& md = header["__metadata__"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) md[k] = v;
  }
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) throw std::invalid_argument("save_safetensors: empty tensor name");
    if (name == "__metadata__")
      throw std::invalid_argument(
          "save_safetensors: '__metadata__' is reserved, not a tensor name");
    if (header.contains(name))
      throw std::invalid_argument("save_safetensors: duplicate tensor name '" + name + "'");
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.size()) * 4;
    header[name] = {
        {"dtype", "F32"}, {"shape", shape_of(t)}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // invalid UTF-8 in a name or value
    throw std::invalid_argument(std::string("save_safetensors: cannot encode header: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::uint64_t header_len = text.size();

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_fail("create", tmp, errno);
  // Test hook: with UNROLL_FAULT_KILL_DURING_SAVE=1 the process writes the first half of
  // the temp file, syncs it and kills itself, as a crash in the middle of a save would.
  const std::uint64_t kill_at = kill_during_save() ? (8 + header_len + offset) / 2
                                                   : std::numeric_limits<std::uint64_t>::max();
  std::uint64_t written = 0;
  auto put = [&](const void* buf, std::size_t n) {
    if (written + n >= kill_at) {
      write_all(fd, tmp, buf, static_cast<std::size_t>(kill_at - written));
      ::fsync(fd);
      std::raise(SIGKILL);
    }
    write_all(fd, tmp, buf, n);
    written += n;
  };
  try {
    put(&header_len, 8);
    put(text.data(), text.size());
    for (const auto& [name, t] : tensors) put(t.data(), t.size() * 4);
    if (::fsync(fd) != 0) io_fail("fsync of", tmp, errno);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_fail("close of", tmp, err);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_fail("rename to", path, err);
  }
  // Persist the rename itself; best effort (some file systems refuse fsync on directories).
  const int dfd = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  remove_stale_temps(path);
}

}  // namespace unroll::nn
