// Bad input, library side: hand-made malformed safetensors files and checkpoints on disk
// (each loaded through the real file path, each leaving the model and optimizer untouched),
// wrong shapes given to the modules and layers that had no wrong-shape test, bad CSV and
// text files for the tasks, and empty data. Every case must end in one exception whose
// message names what was wrong and what was expected; docs/reliability.md ("Bad input")
// lists them all. The CLI side is tests/cli/bad_input_test.sh.

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "nn/safetensors.hpp"
#include "nn/serialize.hpp"
#include "nn/tbptt.hpp"
#include "optim/checkpoint.hpp"
#include "tasks/builtin.hpp"
#include "tasks/charlm.hpp"
#include "tasks/models.hpp"
#include "tasks/task.hpp"
#include "tasks/trainer.hpp"

using namespace unroll;
using Catch::Contains;
using unroll::test::message_of;
using unroll::test::randn;

namespace {

using Bytes = std::vector<std::uint8_t>;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("unroll_bad_input_" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::string write(const std::string& name, const Bytes& b) const {
    std::ofstream(file(name), std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return file(name);
  }
  std::string write(const std::string& name, const std::string& s) const {
    return write(name, Bytes(s.begin(), s.end()));
  }
};

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A safetensors image by hand: 8-byte little-endian length `len` (default: the header's),
// the header text, then `data`.
Bytes image(const std::string& header, const Bytes& data = {}, std::uint64_t len = UINT64_MAX) {
  if (len == UINT64_MAX) len = header.size();
  Bytes b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(len >> (8 * i));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Bytes floats(std::initializer_list<float> v) {
  Bytes b(v.size() * 4);
  std::memcpy(b.data(), std::data(v), b.size());
  return b;
}

// A file's header edited by `edit` (JSON in, JSON out), its data section kept as it was.
Bytes edit_header(const Bytes& file, const std::function<void(nlohmann::json&)>& edit) {
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<std::uint64_t>(file[i]) << (8 * i);
  nlohmann::json h = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + n);
  edit(h);
  return image(h.dump(), Bytes(file.begin() + 8 + n, file.end()));
}

// The message of whatever std::exception f throws ("" if none; other throws fail the test).
template <class E = std::exception>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

// A Linear(3, 2) saved by nn::save: weight [2, 3] then bias [2], 32 bytes of data.
struct SavedLinear {
  TempDir dir;
  Generator gen{5};
  nn::Linear lin{3, 2, true, gen};
  std::string path = dir.file("good.safetensors");
  Bytes good;
  SavedLinear() {
    nn::save(lin, path);
    good = read_bytes(path);
  }
};

bool same_values(const std::vector<Var>& params, const std::vector<Tensor>& before) {
  for (std::size_t i = 0; i < params.size(); ++i)
    if (!(params[i].value() == before[i])) return false;
  return true;
}

std::vector<Tensor> values_of(const std::vector<Var>& params) {
  std::vector<Tensor> v;
  for (const Var& p : params) v.push_back(p.value());
  return v;
}

}  // namespace

// ------------------------------------------------------------------ safetensors files

TEST_CASE("bad input: malformed safetensors files on disk give one error naming the problem",
          "[reliability][bad_input]") {
  SavedLinear s;
  const std::string w = R"("weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";
  const std::string b = R"("bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]})";
  const Bytes data = floats({1, 2, 3, 4, 5, 6, 7, 8});
  struct Case {
    const char* label;
    Bytes bytes;
    const char* expect;  // must be in the message, besides the file name
  };
  const Bytes& good = s.good;
  const std::vector<Case> cases = {
      {"empty file", {}, "0 bytes, shorter than the 8-byte little-endian header length"},
      {"3 bytes", {1, 2, 3}, "3 bytes, shorter than the 8-byte"},
      {"truncated inside the header", Bytes(good.begin(), good.begin() + 40),
       "is larger than the 32 bytes after the length prefix"},
      {"truncated inside the data", Bytes(good.begin(), good.end() - 4),
       "run past the data section of 28 bytes"},
      {"wrong magic: a text file",
       Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'},
       "exceeds the 104857600-byte limit"},
      {"negative header length (-5 as int64)", image("{}", {}, std::uint64_t(-5)),
       "header length 18446744073709551611 exceeds"},
      {"huge header length 2^40", image("{}", {}, 1ull << 40),
       "header length 1099511627776 exceeds"},
      {"header length one past the end", image("{}", {}, 3), "larger than the 2 bytes"},
      {"bad JSON header", image("{" + w + ",}", data), "header is not valid JSON"},
      {"header is not an object", image("[\"weight\"]", data), "header is a JSON array"},
      {"offsets past the end", image("{" + w + "," + b + "}", floats({1, 2, 3})),
       "data_offsets [24, 32] run past the data section of 12 bytes"},
      {"huge offsets",
       image(R"({"weight":{"dtype":"F32","shape":[2,3],"data_offsets":[)" +
                 std::to_string(1ull << 62) + "," + std::to_string((1ull << 62) + 24) + "]}}",
             data),
       "run past the data section"},
      {"negative shape",
       image(R"({"weight":{"dtype":"F32","shape":[-2,3],"data_offsets":[0,24]}})", data),
       "shape entry 0 is -2, expected a non-negative integer"},
      {"negative offset",
       image(R"({"weight":{"dtype":"F32","shape":[2,3],"data_offsets":[-24,0]}})", data),
       "expected [begin, end] with non-negative integers"},
      {"unknown dtype",
       image(R"({"weight":{"dtype":"F8","shape":[2,3],"data_offsets":[0,24]}})", data),
       "unknown dtype \"F8\", expected one of F32"},
      {"dtype whose size does not fit the bytes",
       edit_header(good, [](nlohmann::json& h) { h["weight"]["dtype"] = "F64"; }),
       "has 24 bytes in data_offsets [0, 24], expected 48 = 6 elements (shape [2, 3]) * 8 bytes"},
  };
  const auto before = values_of(s.lin.parameters());
  for (const auto& c : cases) {
    INFO(c.label);
    const std::string path = s.dir.write("bad.safetensors", c.bytes);
    const std::string msg = error_of<nn::FormatError>([&] { nn::load_safetensors(path); });
    CHECK_THAT(msg, Contains(c.expect) && Contains(path));
    // The module loader reports the same error and leaves the parameters as they were.
    CHECK_THROWS_AS(nn::load(s.lin, path), nn::FormatError);
    CHECK(same_values(s.lin.parameters(), before));
  }
  // The good file still loads (the cases above are not failing for another reason).
  CHECK(nn::load(s.lin, s.path).clean());
}

TEST_CASE("bad input: a safetensors path that is a directory, missing or not a file",
          "[reliability][bad_input]") {
  SavedLinear s;
  CHECK_THAT(error_of<std::runtime_error>([&] { nn::load_safetensors(s.dir.path.string()); }),
             Contains("is not a regular file") && Contains(s.dir.path.string()));
  const std::string missing = s.dir.file("missing.safetensors");
  CHECK(error_of<std::runtime_error>([&] { nn::load_safetensors(missing); }) ==
        "load_safetensors: '" + missing + "' does not exist");
  // A character device is not a regular file either (and /dev/zero would never end).
  CHECK_THAT(error_of<std::runtime_error>([&] { nn::load_safetensors("/dev/zero"); }),
             Contains("is not a regular file"));
}

TEST_CASE("bad input: well-formed safetensors that do not fit the module (dtype, shape, names)",
          "[reliability][bad_input]") {
  SavedLinear s;
  const auto before = values_of(s.lin.parameters());
  auto rejected = [&](const Bytes& bytes) {
    const std::string path = s.dir.write("bad.safetensors", bytes);
    try {
      nn::load(s.lin, path);
    } catch (const nn::StateDictError& e) {
      CHECK(same_values(s.lin.parameters(), before));
      return std::string(e.what()) + "\n" + e.report.describe();
    }
    FAIL("expected StateDictError");
    return std::string();
  };
  // Integer dtype for a float parameter (6 I32 values = 24 bytes: well-formed otherwise).
  CHECK_THAT(rejected(edit_header(s.good, [](nlohmann::json& h) { h["weight"]["dtype"] = "I32"; })),
             Contains("weight") && Contains("I32"));
  // The shape transposed: [3, 2] stored, [2, 3] expected.
  CHECK_THAT(rejected(edit_header(s.good,
                                  [](nlohmann::json& h) {
                                    h["weight"]["shape"] = {3, 2};
                                  })),
             Contains("weight") && Contains("[3, 2]") && Contains("[2, 3]"));
  // A tensor missing, another unexpected.
  CHECK_THAT(rejected(edit_header(s.good,
                                  [](nlohmann::json& h) {
                                    h["b"] = h["bias"];
                                    h.erase("bias");
                                  })),
             Contains("bias") && Contains("b"));
}

// ------------------------------------------------------------------ checkpoints

TEST_CASE("bad input: malformed and mismatched checkpoints load nothing and list the problems",
          "[reliability][bad_input]") {
  TempDir dir;
  Generator gen(3);
  nn::Linear lin(3, 2, true, gen);
  optim::Adam adam(lin.parameters(), {});
  Generator data(9);
  optim::TrainingState st;
  st.model = &lin;
  st.optimizer = &adam;
  st.generators = {{"data", &data}};
  st.step = 7;
  // One Adam step so the optimizer has state tensors to save.
  ops::sum(lin(Var(randn({4, 3})))).backward();
  adam.step();
  adam.zero_grad();
  const std::string good_path = dir.file("good.ckpt");
  optim::save_checkpoint(good_path, st);
  const Bytes good = read_bytes(good_path);

  const auto before = values_of(lin.parameters());
  const std::string data_state = data.state();
  auto problem = [&](const Bytes& bytes) {
    const std::string path = dir.write("bad.ckpt", bytes);
    optim::TrainingState into = st;
    into.step = -1;
    std::string msg;
    try {
      optim::load_checkpoint(path, into);
      FAIL("expected CheckpointError");
    } catch (const optim::CheckpointError& e) {
      msg = e.what();
      CHECK_THAT(msg, Contains(path));
      CHECK_FALSE(e.problems.empty());
    }
    CHECK(same_values(lin.parameters(), before));  // nothing was loaded
    CHECK(into.step == -1);
    CHECK(data.state() == data_state);
    return msg;
  };
  CHECK_THAT(problem({}), Contains("cannot read") && Contains("shorter than the 8-byte"));
  CHECK_THAT(problem(Bytes(good.begin(), good.begin() + good.size() / 2)), Contains("cannot read"));
  CHECK_THAT(problem(Bytes(good.begin(), good.end() - 1)), Contains("run past the data section"));
  Bytes magic = good;
  std::memcpy(magic.data(), "PK\x03\x04zip!", 8);  // another format's magic number
  CHECK_THAT(problem(magic), Contains("exceeds the 104857600-byte limit"));
  Bytes negative = good;
  std::memset(negative.data(), 0xff, 8);  // -1 as int64
  CHECK_THAT(problem(negative), Contains("header length 18446744073709551615 exceeds"));
  CHECK_THAT(
      problem(edit_header(good, [](nlohmann::json& h) { h["__metadata__"].erase("format"); })),
      Contains("metadata 'format' is missing, expected 'unroll-checkpoint-1'"));
  CHECK_THAT(
      problem(edit_header(good, [](nlohmann::json& h) { h["__metadata__"]["step"] = "7x"; })),
      Contains("metadata 'step' = '7x' is not an integer"));
  CHECK_THAT(
      problem(edit_header(good, [](nlohmann::json& h) { h["__metadata__"]["step"] = "-3"; })),
      Contains("metadata 'step' = -3 is negative, expected a step count >= 0"));
  CHECK_THAT(problem(edit_header(good,
                                 [](nlohmann::json& h) {
                                   h["model.weight"]["shape"] = {3, 2};
                                 })),
             Contains("'model.weight': checkpoint [3, 2] vs model [2, 3]"));
  CHECK_THAT(
      problem(edit_header(good, [](nlohmann::json& h) { h["model.weight"]["dtype"] = "I32"; })),
      Contains("'model.weight' has dtype I32, expected a float dtype"));
  CHECK_THAT(problem(edit_header(good, [](nlohmann::json& h) { h.erase("model.bias"); })),
             Contains("missing model parameter 'model.bias' [2]"));
  CHECK_THAT(
      problem(edit_header(good, [](nlohmann::json& h) { h["__metadata__"]["rng.data"] = "x"; })),
      Contains("generator state 'rng.data' is malformed"));
  // Several problems at once are all listed.
  const std::string many = problem(edit_header(good, [](nlohmann::json& h) {
    h["model.weight"]["shape"] = {3, 2};
    h["__metadata__"]["step"] = "";
  }));
  CHECK_THAT(many, Contains("model.weight") && Contains("'step'"));
  // The untouched file loads (so the failures above are the edits').
  optim::TrainingState into = st;
  optim::load_checkpoint(good_path, into);
  CHECK(into.step == 7);
}

// ------------------------------------------------------------------ wrong shapes

TEST_CASE("bad input: wrong shapes to Linear, Embedding and Sequential name module and shapes",
          "[reliability][bad_input]") {
  Generator gen(1);
  nn::Linear lin(4, 3, true, gen);
  CHECK_THAT(message_of([&] {
               lin(Var(randn({2, 5})));
             }),
             Contains("linear") && Contains("[2, 5]") && Contains("[3, 4]"));
  CHECK_THAT(message_of([&] { lin(Var(Tensor(1.0f))); }), Contains("linear"));
  nn::Embedding emb(5, 3, -1, gen);
  CHECK_THAT(message_of([&] {
               emb(IndexTensor{0, 5});
             }),
             Contains("embedding") && Contains("5") && Contains("[5, 3]"));
  CHECK_THAT(message_of([&] { emb(IndexTensor{-1}); }), Contains("embedding") && Contains("-1"));
  nn::Sequential seq({std::make_shared<nn::Linear>(4, 3, true, gen), nn::Tanh(),
                      std::make_shared<nn::Linear>(3, 2, true, gen)});
  CHECK_THAT(message_of([&] {
               seq(Var(randn({2, 6})));
             }),
             Contains("linear") && Contains("[2, 6]"));
}

TEST_CASE("bad input: wrong input or state shapes to the RNN, LSTM and GRU cells",
          "[reliability][bad_input]") {
  Generator gen(2);
  nn::RNNCell rnn(3, 4, true, nn::Nonlinearity::Tanh, gen);
  nn::LSTMCell lstm(3, 4, true, gen);
  nn::GRUCell gru(3, 4, true, gen);
  int k = 0;
  for (nn::BuiltinCell* cell : std::initializer_list<nn::BuiltinCell*>{&rnn, &lstm, &gru}) {
    INFO("cell " << k++ << " (rnn, lstm, gru)");
    const nn::State s0 = cell->initial_state(2);
    // Input features 5, expected 3.
    CHECK_THAT(message_of([&] {
                 cell->forward(Var(randn({2, 5})), s0);
               }),
               Contains("[2, 5]") && Contains("3"));
    // A 3-D input where [batch, features] is expected (was accepted and broadcast).
    CHECK_THAT(message_of([&] {
                 cell->forward(Var(randn({1, 2, 3})), s0);
               }),
               Contains("[1, 2, 3]") && Contains("expected [batch, 3]"));
    // State of batch 3 for an input of batch 2, and of width 5 for hidden 4.
    nn::State wrong_batch, wrong_width;
    for (std::size_t i = 0; i < s0.size(); ++i) {
      wrong_batch.push_back(Var(randn({3, 4})));
      wrong_width.push_back(Var(randn({2, 5})));
    }
    CHECK_THAT(message_of([&] {
                 cell->forward(Var(randn({2, 3})), wrong_batch);
               }),
               Contains("[3, 4]") && Contains("[2, 4]"));
    CHECK_THAT(message_of([&] {
                 cell->forward(Var(randn({2, 3})), wrong_width);
               }),
               Contains("[2, 5]") && Contains("[2, 4]"));
  }
  // The LSTM needs {h, c}: {h} alone is one tensor short.
  CHECK_THAT(message_of([&] {
               lstm.forward(Var(randn({2, 3})), {Var(randn({2, 4}))});
             }),
             Contains("LSTMCell: expected a state of 2 tensors, got 1"));
  // step() takes the projected input [B, 4H]; a narrower one used to make chunk() return
  // fewer than 4 gates and the LSTM read past the end of them (a crash).
  CHECK_THAT(message_of([&] {
               lstm.step(Var(randn({2, 2})), lstm.initial_state(2));
             }),
             Contains("LSTMCell") && Contains("[2, 2]") && Contains("expected [batch, 16]"));
  CHECK_THAT(message_of([&] {
               gru.step(Var(randn({2, 2})), gru.initial_state(2));
             }),
             Contains("GRUCell") && Contains("[2, 2]") && Contains("expected [batch, 12]"));
}

TEST_CASE("bad input: wrong shapes to unroll(), RNN and GRU layers, TransformerEncoder, tbptt",
          "[reliability][bad_input]") {
  Generator gen(4);
  nn::GRUCell cell(3, 4, true, gen);
  CHECK_THAT(message_of([&] {
               nn::unroll(cell, Var(randn({5, 3})));
             }),
             Contains("[5, 3]") && Contains("3-D"));
  CHECK_THAT(message_of([&] {
               nn::unroll(cell, Var(randn({5, 2, 7})));
             }),
             Contains("[5, 2, 7]") && Contains("3"));
  nn::UnrollOptions lengths;
  lengths.lengths = {5, 6};  // longer than T = 5
  CHECK_THAT(message_of([&] {
               nn::unroll(cell, Var(randn({5, 2, 3})), {}, lengths);
             }),
             Contains("6") && Contains("5"));

  nn::RNN rnn(3, 4, {}, gen);
  nn::GRU gru(3, 4, {}, gen);
  for (nn::RecurrentLayer* layer : std::initializer_list<nn::RecurrentLayer*>{&rnn, &gru}) {
    CHECK_THAT(message_of([&] {
                 layer->forward(Var(randn({5, 2, 7})));
               }),
               Contains("[5, 2, 7]") && Contains("3"));
    CHECK_THAT(message_of([&] {
                 layer->forward(Var(randn({5, 2, 3})), {Var(randn({2, 2, 4}))});
               }),
               Contains("[2, 2, 4]") && Contains("[1, 2, 4]"));
  }

  nn::TransformerEncoderLayerOptions lo;
  lo.d_model = 8;
  lo.nhead = 2;
  lo.dim_feedforward = 16;
  lo.dropout = 0.0f;
  nn::TransformerEncoder enc(lo, 2, true, gen);
  CHECK_THAT(message_of([&] {
               enc.forward(Var(randn({3, 2, 6})));
             }),
             Contains("[3, 2, 6]") && Contains("8"));
  nn::KVCache cache;
  CHECK_THAT(message_of([&] {
               enc.step(Var(randn({2, 6})), cache);
             }),
             Contains("[2, 6]") && Contains("8"));

  nn::LSTM lstm(3, 4, {}, gen);
  auto loss = [](const Var& out, std::size_t) { return ops::mean(out); };
  CHECK_THAT(message_of([&] {
               nn::train_truncated_bptt(lstm, randn({10, 3}), 4, loss, [] {});
             }),
             Contains("3-D") && Contains("[10, 3]"));
  CHECK_THAT(message_of([&] {
               nn::train_truncated_bptt(lstm, randn({10, 2, 3}), 0, loss, [] {});
             }),
             Contains("k must be >= 1"));
  CHECK_THAT(message_of([&] {
               nn::train_truncated_bptt(lstm, randn({10, 2, 5}), 4, loss, [] {});
             }),
             Contains("[4, 2, 5]") && Contains("3"));
}

// ------------------------------------------------------------------ task data

TEST_CASE("bad input: charlm text files: binary, empty, directory, missing; non-UTF-8 is bytes",
          "[reliability][bad_input]") {
  TempDir dir;
  auto error = [](const std::string& path) {
    return error_of<std::invalid_argument>(
        [&] { tasks::make_task("charlm", {.text_path = path}); });
  };
  // Binary: a PNG signature and header (has NUL bytes, as binary files almost always do).
  const std::string png = dir.write("image.png", Bytes{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                                       0, 0, 0, 13, 'I', 'H', 'D', 'R'});
  CHECK(error(png) ==
        "charlm: text file '" + png + "' contains a NUL byte at offset 8 (is it a binary file?)");
  const std::string empty = dir.write("empty.txt", "");
  CHECK(error(empty) == "charlm: text file '" + empty + "' is empty");
  CHECK(error(dir.path.string()) ==
        "charlm: text path '" + dir.path.string() + "' is not a regular file");
  CHECK(error("/dev/null") == "charlm: text path '/dev/null' is not a regular file");
  CHECK(error(dir.file("nope.txt")) ==
        "charlm: text file '" + dir.file("nope.txt") + "' does not exist");
  // Latin-1 (not UTF-8): bytes are the tokens, so it is a valid corpus of 4 symbols.
  const std::string latin1 = dir.write("latin1.txt", "caf\xe9 caf\xe9 ");
  const auto task = tasks::make_task("charlm", {.text_path = latin1});
  CHECK(task->spec().input_dim == 5);  // ' ', 'a', 'c', 'f', 0xe9
  Generator g(1);
  CHECK(task->sample(g, 2, 8).tokens.shape()[1] == 8);
  // A window longer than the text is refused when sampled, naming both lengths.
  CHECK_THAT(error_of<std::invalid_argument>([&] { task->sample(g, 2, 10); }),
             Contains("length 10 needs 11 characters") && Contains("has 10"));
}

TEST_CASE("bad input: forecast CSV files: header only, ragged rows, binary, directory",
          "[reliability][bad_input]") {
  TempDir dir;
  auto error = [](const std::string& path, const std::string& column) {
    return error_of<std::invalid_argument>([&] { tasks::make_forecast_task(path, column, 4); });
  };
  auto series = [](int n) {
    std::string s = "t,load\n";
    for (int i = 0; i < n; ++i) s += std::to_string(i) + "," + std::to_string(i % 5) + "\n";
    return s;
  };
  REQUIRE(error(dir.write("ok.csv", series(20)), "load").empty());
  const std::string header = dir.write("header.csv", "t,load\n");
  CHECK(error(header, "load") ==
        "forecast: CSV file '" + header + "' has 0 values; at least 6 are needed (season 4 + 2)");
  const std::string blank = dir.write("blank.csv", "\n \n\t\n");
  CHECK(error(blank, "load") == "forecast: CSV file '" + blank + "' is empty");
  // Ragged: one row with a stray third field, one with a missing second field.
  const std::string extra = dir.write("extra.csv", series(20) + "20,1,9\n");
  CHECK(error(extra, "load") == "forecast: CSV file '" + extra +
                                    "' line 22, column 'load': the row has 3 fields but the "
                                    "header has 2");
  std::string s = "a,load,c\n";
  for (int i = 0; i < 20; ++i) s += "1," + std::to_string(i % 3) + (i == 5 ? "\n" : ",7\n");
  const std::string missing = dir.write("missing.csv", s);
  CHECK(error(missing, "c") ==
        "forecast: CSV file '" + missing + "' line 7, column 'c': the row has only 2 fields");
  CHECK(error(missing, "load") == "forecast: CSV file '" + missing +
                                      "' line 7, column 'load': the row has 2 fields but the "
                                      "header has 3");
  const std::string inf = dir.write("inf.csv", series(10) + "10,-inf\n");
  CHECK_THAT(error(inf, "load"), Contains("line 12, column 'load': '-inf' is not a finite number"));
  const std::string bin = dir.write("data.bin", Bytes{'t', ',', 'l', '\n', '1', ',', 0, 0xff});
  CHECK(error(bin, "l") ==
        "forecast: CSV file '" + bin + "' contains a NUL byte at offset 6 (is it a binary file?)");
  CHECK(error(dir.path.string(), "load") ==
        "forecast: CSV path '" + dir.path.string() + "' is not a regular file");
}

TEST_CASE("bad input: empty batches and evaluations are refused, not divided by zero",
          "[reliability][bad_input]") {
  const auto task = tasks::make_task("adding");
  Generator init(1);
  auto model = tasks::make_model({.kind = "gru", .hidden = 4}, task->spec(), init);
  Generator g(2);
  CHECK_THAT(error_of<std::invalid_argument>([&] { tasks::evaluate(*task, *model, 6, 0, 8, g); }),
             Contains("sequences (0)"));
  // batch 0 used to loop forever.
  CHECK_THAT(error_of<std::invalid_argument>([&] { tasks::evaluate(*task, *model, 6, 8, 0, g); }),
             Contains("batch (0)"));
  tasks::TrainConfig tc;
  tc.steps = 2;
  tc.batch = 0;
  tc.length = 6;
  CHECK_THAT(error_of<std::invalid_argument>([&] { tasks::train_and_evaluate(*task, *model, tc); }),
             Contains("batch must be >= 1"));
}
