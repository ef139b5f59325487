#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "nn/safetensors.hpp"

using namespace unroll;
using Catch::Matchers::Contains;
using nn::FormatError;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<std::uint8_t>;

/// A safetensors image: 8-byte length (the real one unless overridden), header, data.
Bytes image(const std::string& header, const Bytes& data = {},
            std::uint64_t len = std::numeric_limits<std::uint64_t>::max()) {
  if (len == std::numeric_limits<std::uint64_t>::max()) len = header.size();
  Bytes b(8);
  std::memcpy(b.data(), &len, 8);
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

template <class T>
Bytes raw(std::initializer_list<T> values) {
  Bytes b(values.size() * sizeof(T));
  std::memcpy(b.data(), std::data(values), b.size());
  return b;
}

nn::SafetensorsFile parse(const Bytes& b) {
  return nn::parse_safetensors(b.data(), b.size(), "mem:case");
}

/// A fresh empty directory under the system temp dir, removed at scope end.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("unroll_st_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    return out;
  }
};

Bytes read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return shape_of(a) == shape_of(b) && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

const std::string kF32x2 = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

}  // namespace

TEST_CASE("safetensors round trip keeps values bit-exact, shapes, order and metadata",
          "[safetensors]") {
  TempDir dir;
  const std::string path = (dir.path / "model.safetensors").string();
  Tensor a = {{1.5f, -0.0f, 1e-40f}, {std::numeric_limits<float>::infinity(), 3.25f, -7.0f}};
  Tensor nan = {std::numeric_limits<float>::quiet_NaN(), 2.0f};
  Tensor scalar = Tensor::from_shape({});
  scalar() = 42.0f;
  Tensor empty = Tensor::from_shape({0, 4});
  const std::map<std::string, std::string> meta = {{"format", "pt"},
                                                   {"note", "a \"quoted\" value"}};
  nn::save_safetensors(path, {{"z.weight", a}, {"a.nan", nan}, {"s", scalar}, {"e", empty}}, meta);

  const auto f = nn::load_safetensors(path);
  CHECK(f.metadata == meta);
  REQUIRE(f.tensors.size() == 4);
  CHECK(f.at("z.weight").dtype == "F32");
  CHECK(f.at("z.weight").shape == Shape{2, 3});
  CHECK(same_bits(f.tensor("z.weight"), a));
  CHECK(same_bits(f.tensor("a.nan"), nan));
  CHECK(f.at("s").shape == Shape{});
  CHECK(f.tensor("s")() == 42.0f);
  CHECK(f.at("e").shape == Shape{0, 4});

  // Layout: header length a multiple of 8 (space padded), data in the given order.
  const Bytes b = read_file(path);
  std::uint64_t n;
  std::memcpy(&n, b.data(), 8);
  CHECK(n % 8 == 0);
  const std::string header(b.begin() + 8, b.begin() + 8 + static_cast<long>(n));
  const auto j = nlohmann::json::parse(header);
  CHECK(j["z.weight"]["data_offsets"] == nlohmann::json::array({0, 24}));
  CHECK(j["a.nan"]["data_offsets"] == nlohmann::json::array({24, 32}));
  CHECK(j["s"]["data_offsets"] == nlohmann::json::array({32, 36}));
  CHECK(b.size() == 8 + n + 36);
}

TEST_CASE("safetensors reads the PyTorch fixtures' I64 targets", "[safetensors]") {
  // Values read independently with Python's struct module.
  const auto f =
      nn::load_safetensors(UNROLL_TEST_DATA_DIR "/parity/cross_entropy_ignore.safetensors");
  CHECK(f.meta("module") == "cross_entropy");
  CHECK(f.at("in.target").dtype == "I64");
  const IndexTensor expected = {-100, 4, 4, 4};
  CHECK(f.index_tensor("in.target") == expected);
  CHECK(f.tensor("out.loss")() == 4.391180992126465f);
  CHECK(f.at("out.loss").shape == Shape{});
}

TEST_CASE("safetensors converts F16, BF16 and F64 to float32 and integers to int64",
          "[safetensors]") {
  const std::string h = R"({"h":{"dtype":"F16","shape":[7],"data_offsets":[0,14]},)"
                        R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[14,20]},)"
                        R"("d":{"dtype":"F64","shape":[2],"data_offsets":[20,36]},)"
                        R"("m":{"dtype":"U8","shape":[3],"data_offsets":[36,39]},)"
                        R"("f":{"dtype":"F32","shape":[1],"data_offsets":[39,43]},)"
                        R"("i":{"dtype":"I32","shape":[2],"data_offsets":[43,51]},)"
                        R"("q":{"dtype":"BOOL","shape":[2],"data_offsets":[51,53]},)"
                        R"("c":{"dtype":"I8","shape":[1],"data_offsets":[53,54]}})";
  Bytes data;
  // F16: 1.0, -2.0, max normal 65504, smallest subnormal 2^-24, +inf, -0.0, 0x3555 = 1365/4096.
  for (auto v : raw<std::uint16_t>({0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x8000, 0x3555}))
    data.push_back(v);
  for (auto v : raw<std::uint16_t>({0x3F80, 0xC040, 0x4049})) data.push_back(v);  // 1, -3, 3.140625
  for (auto v : raw<double>({1.5, -2.25})) data.push_back(v);
  for (std::uint8_t v : {0, 1, 255}) data.push_back(v);
  for (auto v : raw<float>({0.75f})) data.push_back(v);  // at byte 39: unaligned F32
  for (auto v : raw<std::int32_t>({-5, 2147483647})) data.push_back(v);
  for (std::uint8_t v : {1, 0}) data.push_back(v);
  data.push_back(0x80);  // I8 -128

  const auto f = parse(image(h, data));
  const Tensor& half = f.tensor("h");
  CHECK(half(0) == 1.0f);
  CHECK(half(1) == -2.0f);
  CHECK(half(2) == 65504.0f);
  CHECK(half(3) == std::ldexp(1.0f, -24));
  CHECK(half(4) == std::numeric_limits<float>::infinity());
  CHECK(half(5) == 0.0f);
  CHECK(std::signbit(half(5)));
  CHECK(half(6) == 1365.0f / 4096.0f);
  CHECK(f.tensor("b") == Tensor{1.0f, -3.0f, 3.140625f});
  CHECK(f.tensor("d") == Tensor{1.5f, -2.25f});
  CHECK(f.index_tensor("m") == IndexTensor{0, 1, 255});
  CHECK(f.tensor("f")(0) == 0.75f);
  CHECK(f.index_tensor("i") == IndexTensor{-5, 2147483647});
  CHECK(f.index_tensor("q") == IndexTensor{1, 0});
  CHECK(f.index_tensor("c")(0) == -128);
  CHECK(f.at("h").dtype == "F16");
}

TEST_CASE("safetensors accessors name the missing tensor or the wrong kind", "[safetensors]") {
  const auto f = parse(
      image(R"({"t":{"dtype":"I64","shape":[],"data_offsets":[0,8]}})", raw<std::int64_t>({7})));
  CHECK(f.index_tensor("t")() == 7);
  CHECK_THROWS_AS(f.tensor("t"), FormatError);
  CHECK_THROWS_WITH(f.tensor("t"), Contains("'t' has integer dtype I64") && Contains("mem:case"));
  CHECK_THROWS_WITH(f.at("nope"), Contains("no tensor named 'nope'") && Contains("tensors: t"));
  CHECK_THROWS_AS(f.meta("kind"), FormatError);
  const auto g = parse(image(kF32x2, raw<float>({1, 2})));
  CHECK_THROWS_WITH(g.index_tensor("t"), Contains("expected an integer dtype"));
}

TEST_CASE("safetensors rejects every malformed file with a FormatError naming the problem",
          "[safetensors]") {
  const Bytes two = raw<float>({1, 2});
  struct Bad {
    const char* label;
    Bytes bytes;
    const char* expect;
  };
  const auto big = std::to_string(1ull << 32), big31 = std::to_string(1ull << 31);
  const std::vector<Bad> cases = {
      {"5-byte file", Bytes(5, 0), "shorter than the 8-byte"},
      {"empty file", Bytes{}, "shorter than the 8-byte"},
      {"header length past the end", image(kF32x2, two, 1000), "larger than the"},
      {"absurd header length", image(kF32x2, two, 1ull << 60), "exceeds the"},
      {"bad JSON", image("{\"t\": nope}"), "not valid JSON"},
      {"truncated JSON", image(kF32x2.substr(0, 20)), "not valid JSON"},
      {"header not an object", image("[1, 2]"), "expected an object"},
      {"entry not an object", image(R"({"t": 3})"), "expected an object with dtype"},
      {"missing dtype", image(R"({"t":{"shape":[2],"data_offsets":[0,8]}})", two),
       "no \"dtype\" field"},
      {"missing shape", image(R"({"t":{"dtype":"F32","data_offsets":[0,8]}})", two),
       "no \"shape\" field"},
      {"missing offsets", image(R"({"t":{"dtype":"F32","shape":[2]}})", two),
       "no \"data_offsets\" field"},
      {"dtype not a string", image(R"({"t":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", two),
       "expected a string"},
      {"unknown dtype", image(R"({"t":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}})", two),
       "unknown dtype \"F128\""},
      {"shape not an array", image(R"({"t":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", two),
       "expected an array"},
      {"negative shape", image(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", two),
       "shape entry 0 is -2, expected a non-negative integer"},
      {"fractional shape",
       image(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", two),
       "expected a non-negative integer"},
      {"shape overflow",
       image(R"({"t":{"dtype":"F32","shape":[)" + big + "," + big + "," + big +
                 R"(],"data_offsets":[0,8]}})",
             two),
       "overflows 64 bits"},
      {"byte size overflow",
       image(
           R"({"t":{"dtype":"F64","shape":[)" + big31 + "," + big31 + R"(],"data_offsets":[0,8]}})",
           two),
       "byte size of shape"},
      {"offsets not a pair", image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", two),
       "expected [begin, end]"},
      {"negative offset", image(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[-4,-4]}})"),
       "expected [begin, end]"},
      {"begin > end", image(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", two),
       "begin > end"},
      {"byte count != shape * dtype size",
       image(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", two),
       "has 8 bytes in data_offsets [0, 8], expected 12 = 3 elements"},
      {"offsets past the end",
       image(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", two),
       "run past the data section of 8 bytes"},
      {"overlapping tensors",
       image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
             two),
       "overlap"},
      {"metadata not an object",
       image(R"({"__metadata__":[1],"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", two),
       "__metadata__ is a JSON array"},
      {"metadata value not a string",
       image(R"({"__metadata__":{"k":1},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
             two),
       "__metadata__ value for \"k\" is a JSON number"},
      {"deep nesting", image(std::string(10000, '[') + std::string(10000, ']')), "nests deeper"},
      {"BOOL byte 2", image(R"({"t":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}})", Bytes{2}),
       "expected 0 or 1"},
  };
  for (const auto& c : cases) {
    INFO(c.label);
    CHECK_THROWS_AS(parse(c.bytes), FormatError);
    CHECK_THROWS_WITH(parse(c.bytes), Contains(c.expect) && Contains("mem:case"));
  }
}

TEST_CASE("safetensors never fails other than by FormatError on truncated or corrupted bytes",
          "[safetensors]") {
  TempDir dir;
  const std::string path = (dir.path / "v.safetensors").string();
  nn::save_safetensors(path, {{"w", Tensor{{1, 2}, {3, 4}}}, {"b", Tensor{5}}}, {{"k", "v"}});
  const Bytes good = read_file(path);
  for (std::size_t len = 0; len < good.size(); ++len) {
    INFO("prefix of " << len << " bytes");
    CHECK_THROWS_AS(nn::parse_safetensors(good.data(), len, "prefix"), FormatError);
  }
  // Flip every byte of the length prefix and the header: each variant parses or is rejected
  // cleanly (anything else, a crash or another exception type, fails the test).
  std::uint64_t n;
  std::memcpy(&n, good.data(), 8);
  std::size_t rejected = 0;
  for (std::size_t i = 0; i < 8 + n; ++i) {
    for (std::uint8_t x : {0x01, 0x80, 0xFF}) {
      Bytes b = good;
      b[i] ^= x;
      try {
        nn::parse_safetensors(b.data(), b.size(), "flip");
      } catch (const FormatError&) {
        ++rejected;
      }
    }
  }
  // Most flips break the JSON or the length; a few (a flipped padding space) still parse.
  CHECK(rejected > 8 * 3);
}

TEST_CASE("save_safetensors is atomic: no temp file survives, failures keep the old file",
          "[safetensors]") {
  TempDir dir;
  const std::string path = (dir.path / "ckpt.safetensors").string();
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());

  SECTION("a directory that does not exist throws and leaves nothing") {
    const std::string missing = (dir.path / "no_such_dir" / "x.safetensors").string();
    CHECK_THROWS_AS(nn::save_safetensors(missing, {{"a", Tensor{1}}}), std::runtime_error);
    CHECK_THROWS_WITH(nn::save_safetensors(missing, {{"a", Tensor{1}}}), Contains("no_such_dir"));
    CHECK(dir.entries().empty());
  }
  SECTION("a second save replaces the first entirely") {
    nn::save_safetensors(path, {{"old", Tensor{1, 2, 3}}, {"old2", Tensor{4}}}, {{"v", "1"}});
    nn::save_safetensors(path, {{"new", Tensor{9}}});
    const auto f = nn::load_safetensors(path);
    CHECK(f.tensors.size() == 1);
    CHECK(f.contains("new"));
    CHECK(f.metadata.empty());
    CHECK(dir.entries() == std::vector<std::string>{"ckpt.safetensors"});
  }
  SECTION("invalid names throw before writing; the previous file is untouched") {
    nn::save_safetensors(path, {{"keep", Tensor{1, 2}}});
    const Bytes before = read_file(path);
    CHECK_THROWS_AS(nn::save_safetensors(path, {{"a", Tensor{1}}, {"a", Tensor{2}}}),
                    std::invalid_argument);
    CHECK_THROWS_AS(nn::save_safetensors(path, {{"", Tensor{1}}}), std::invalid_argument);
    CHECK_THROWS_AS(nn::save_safetensors(path, {{"__metadata__", Tensor{1}}}),
                    std::invalid_argument);
    CHECK(read_file(path) == before);
    CHECK(dir.entries() == std::vector<std::string>{"ckpt.safetensors"});
  }
  SECTION("a failure after the data is written (rename onto a directory) removes the temp file") {
    fs::create_directories(dir.path / "ckpt.safetensors" / "occupied");
    CHECK_THROWS_AS(nn::save_safetensors(path, {{"a", Tensor{1}}}), std::runtime_error);
    CHECK_FALSE(fs::exists(tmp));
    CHECK(fs::is_directory(path));
  }
}
