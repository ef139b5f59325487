// Task generators: shapes, labels recomputed here from the inputs, determinism, baselines
// measured by simulation, default metrics on perfect outputs, and input errors.

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <set>

#include <unistd.h>

#include "helpers.hpp"
#include "tasks/builtin.hpp"
#include "tasks/charlm.hpp"
#include "tasks/sentiment.hpp"

using namespace unroll;
using namespace unroll::tasks;
namespace fs = std::filesystem;

namespace {

// Logits [B, T, C] with a margin of 20 on each step's target class (zeros where none).
Tensor perfect_logits(const Batch& b, std::size_t classes) {
  const std::size_t B = b.class_targets.shape()[0], T = b.class_targets.shape()[1];
  Tensor out = xt::zeros<float>({B, T, classes});
  for (std::size_t i = 0; i < B; ++i)
    for (std::size_t t = 0; t < T; ++t)
      if (b.class_targets(i, t) != kNoTarget) out(i, t, b.class_targets(i, t)) = 20.0f;
  return out;
}

// Logits that always pick `cls`, whatever the input: a memoryless constant predictor.
Tensor constant_logits(const Batch& b, std::size_t classes, std::size_t cls) {
  Tensor out = xt::zeros<float>({b.batch_size(), b.steps(), classes});
  for (std::size_t i = 0; i < b.batch_size(); ++i)
    for (std::size_t t = 0; t < b.steps(); ++t) out(i, t, cls) = 1.0f;
  return out;
}

// Runs f and returns the std::invalid_argument message (fails if nothing is thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  FAIL("expected std::invalid_argument");
  return {};
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("unroll_tasks_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& content) const {
    const auto p = path / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
};

bool same(const Batch& a, const Batch& b) {
  return a.tokens == b.tokens && a.features == b.features && a.class_targets == b.class_targets &&
         a.value_targets == b.value_targets && a.value_mask == b.value_mask;
}

}  // namespace

TEST_CASE("registry lists the tasks in order and rejects unknown names", "[tasks]") {
  const std::vector<std::string> expected = {"copy",           "adding",       "parity",
                                             "selective_copy", "assoc_recall", "sentiment",
                                             "charlm",         "forecast"};
  CHECK(task_names() == expected);
  for (const auto& n : expected) CHECK(make_task(n)->name() == n);
  const std::string msg = error_of([] { make_task("nope"); });
  CHECK(msg ==
        "unknown task 'nope'; known tasks: copy, adding, parity, selective_copy, assoc_recall, "
        "sentiment, charlm, forecast");
}

TEST_CASE("every task: shapes, ranges, determinism, perfect outputs, too-short lengths",
          "[tasks]") {
  for (const auto& name : task_names()) {
    INFO("task " << name);
    const auto task = make_task(name);
    const TaskSpec spec = task->spec();
    const std::size_t L = task->default_length();
    CHECK(L > 0);
    CHECK_FALSE(task->description().empty());
    Generator g1(42), g2(42), g3(43);
    const Batch b = task->sample(g1, 5, L);
    CHECK(same(b, task->sample(g2, 5, L)));
    CHECK_FALSE(same(b, task->sample(g3, 5, L)));
    REQUIRE(b.batch_size() == 5);
    const std::size_t T = b.steps();
    CHECK(T >= L);
    if (spec.input == InputKind::Tokens) {
      CHECK(shape_of(b.tokens) == Shape{5, T});
      CHECK(xt::amin(b.tokens)() >= 0);
      CHECK(xt::amax(b.tokens)() < static_cast<std::int64_t>(spec.input_dim));
    } else {
      CHECK(shape_of(b.features) == Shape{5, T, spec.input_dim});
    }
    Tensor perfect;
    if (spec.target == TargetKind::Classes) {
      REQUIRE(shape_of(b.class_targets) == Shape{5, T});
      for (std::size_t i = 0; i < 5; ++i) {
        std::size_t targeted = 0;
        for (std::size_t t = 0; t < T; ++t) {
          const auto y = b.class_targets(i, t);
          if (y == kNoTarget) continue;
          ++targeted;
          CHECK((y >= 0 && y < static_cast<std::int64_t>(spec.output_dim)));
        }
        CHECK(targeted > 0);
      }
      perfect = perfect_logits(b, spec.output_dim);
      const auto m = task->metrics(perfect, b);
      CHECK(m.at("accuracy") == 1.0);
      CHECK(m.at("cross_entropy") < 1e-6);
      CHECK(m.count(task->metric()) == 1);
    } else {
      REQUIRE(shape_of(b.value_targets) == Shape{5, T, spec.output_dim});
      REQUIRE(shape_of(b.value_mask) == Shape{5, T});
      CHECK(xt::sum(b.value_mask)() > 0);
      perfect = b.value_targets;
      const auto m = task->metrics(perfect, b);
      CHECK(m.at("mse") == 0.0);
      CHECK(m.at("mae") == 0.0);
    }
    CHECK(task->loss(Var(perfect), b).value()() < 1e-6);
    const std::string msg = error_of([&] { task->sample(g1, 2, 0); });
    CHECK(msg.find(name + ": length 0") == 0);
    CHECK(msg.find("minimum") != std::string::npos);
  }
}

TEST_CASE("copy: Bai et al. layout, recalled symbols are the first ten, baseline 1/8", "[tasks]") {
  const auto task = make_task("copy");
  Generator g(1);
  const std::size_t T = 7;
  const Batch b = task->sample(g, 3, T);
  REQUIRE(b.steps() == T + 20);
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t t = 0; t < 10; ++t) {
      CHECK((b.tokens(i, t) >= 1 && b.tokens(i, t) <= 8));
      CHECK(b.class_targets(i, T + 10 + t) == b.tokens(i, t));
    }
    for (std::size_t t = 10; t < T + 9; ++t) CHECK(b.tokens(i, t) == 0);
    for (std::size_t t = T + 9; t < T + 20; ++t) CHECK(b.tokens(i, t) == 9);
    for (std::size_t t = 0; t < T + 10; ++t) CHECK(b.class_targets(i, t) == kNoTarget);
  }
  CHECK(task->sample(g, 1, 1).steps() == 21);
  CHECK(task->baseline(T) == Approx(0.125));
  // A memoryless constant guess: accuracy 1/8 (sd of the mean over 40000 symbols ~ 0.0017).
  const Batch big = task->sample(g, 4000, 3);
  const auto m = task->metrics(constant_logits(big, 10, 5), big);
  CHECK(m.at("accuracy") == Approx(0.125).margin(0.007));
  // Uniform over the 8 symbols: the memoryless cross-entropy ln 8 per recalled step.
  Tensor uniform8 = xt::zeros<float>({big.batch_size(), big.steps(), std::size_t{10}});
  uniform8.fill(-1e4f);
  xt::view(uniform8, xt::all(), xt::all(), xt::range(1, 9)) = 0.0f;
  CHECK(task->metrics(uniform8, big).at("cross_entropy") == Approx(std::log(8.0)).epsilon(1e-5));
}

TEST_CASE("adding: two markers, one per half; target is the sum; baseline 1/6", "[tasks]") {
  const auto task = make_task("adding");
  Generator g(2);
  for (std::size_t T : {2, 3, 11, 50}) {
    const Batch b = task->sample(g, 8, T);
    REQUIRE(shape_of(b.features) == Shape{8, T, 2});
    for (std::size_t i = 0; i < 8; ++i) {
      std::vector<std::size_t> marked;
      for (std::size_t t = 0; t < T; ++t) {
        CHECK((b.features(i, t, 0) >= 0.0f && b.features(i, t, 0) < 1.0f));
        if (b.features(i, t, 1) == 1.0f)
          marked.push_back(t);
        else
          CHECK(b.features(i, t, 1) == 0.0f);
        CHECK(b.value_mask(i, t) == (t == T - 1 ? 1.0f : 0.0f));
      }
      REQUIRE(marked.size() == 2);
      CHECK(marked[0] < T / 2);
      CHECK(marked[1] >= T / 2);
      CHECK(b.value_targets(i, T - 1, 0) ==
            Approx(b.features(i, marked[0], 0) + b.features(i, marked[1], 0)));
    }
  }
  CHECK(task->baseline(50) == Approx(1.0 / 6.0));
  // Predicting 1 everywhere: E[(U1 + U2 - 1)^2] = 1/6; sd of (S-1)^2 is 0.197, so the mean of
  // 20000 samples is within 0.006 (4 standard errors).
  const Batch big = task->sample(g, 20000, 10);
  const Tensor ones = xt::ones<float>({std::size_t{20000}, std::size_t{10}, std::size_t{1}});
  CHECK(task->metrics(ones, big).at("mse") == Approx(1.0 / 6.0).margin(0.006));
  CHECK(task->loss(Var(ones), big).value()() == Approx(1.0 / 6.0).margin(0.006));
}

TEST_CASE("parity: XOR at the last step only, any length, baseline 0.5", "[tasks]") {
  const auto task = make_task("parity");
  Generator g(3);
  for (std::size_t T : {1, 5, 16, 100}) {
    const Batch b = task->sample(g, 16, T);
    REQUIRE(b.steps() == T);
    for (std::size_t i = 0; i < 16; ++i) {
      int ones = 0;
      for (std::size_t t = 0; t < T; ++t) ones += static_cast<int>(b.tokens(i, t));
      CHECK(b.class_targets(i, T - 1) == ones % 2);
      for (std::size_t t = 0; t + 1 < T; ++t) CHECK(b.class_targets(i, t) == kNoTarget);
    }
  }
  const Batch big = task->sample(g, 20000, 9);
  CHECK(task->metrics(constant_logits(big, 2, 1), big).at("accuracy") == Approx(0.5).margin(0.015));
  CHECK(task->baseline(9) == 0.5);
}

TEST_CASE("selective_copy: the scattered symbols, in order, after the delimiter", "[tasks]") {
  const auto task = make_task("selective_copy");
  Generator g(4);
  for (std::size_t T : {4, 9, 32}) {
    const Batch b = task->sample(g, 20, T);
    REQUIRE(b.steps() == T + 9);
    for (std::size_t i = 0; i < 20; ++i) {
      std::vector<std::int64_t> data;
      for (std::size_t t = 0; t < T; ++t) {
        CHECK(b.tokens(i, t) <= 8);
        if (b.tokens(i, t) != 0) data.push_back(b.tokens(i, t));
      }
      REQUIRE(data.size() == 4);
      for (std::size_t t = T; t < T + 9; ++t) CHECK(b.tokens(i, t) == 9);
      for (std::size_t t = 0; t < T + 5; ++t) CHECK(b.class_targets(i, t) == kNoTarget);
      for (std::size_t k = 0; k < 4; ++k) CHECK(b.class_targets(i, T + 5 + k) == data[k]);
    }
  }
  CHECK(error_of([&] { task->sample(g, 1, 3); }) ==
        "selective_copy: length 3 is too small; the minimum is 4");
}

TEST_CASE("assoc_recall: the target is the value paired with the query key", "[tasks]") {
  const auto task = make_task("assoc_recall");
  Generator g(5);
  for (std::size_t n : {2, 8, 16}) {
    const Batch b = task->sample(g, 20, n);
    REQUIRE(b.steps() == 2 * n + 2);
    for (std::size_t i = 0; i < 20; ++i) {
      std::set<std::int64_t> keys;
      std::int64_t answer = -1;
      const std::int64_t query = b.tokens(i, 2 * n + 1);
      for (std::size_t k = 0; k < n; ++k) {
        const auto key = b.tokens(i, 2 * k), value = b.tokens(i, 2 * k + 1);
        CHECK((key >= 0 && key < 16));
        CHECK((value >= 16 && value < 24));
        keys.insert(key);
        if (key == query) answer = value - 16;
      }
      CHECK(keys.size() == n);  // distinct keys: one answer
      CHECK(b.tokens(i, 2 * n) == 24);
      CHECK(b.class_targets(i, 2 * n + 1) == answer);
    }
  }
  CHECK(error_of([&] { task->sample(g, 1, 1); }) ==
        "assoc_recall: length 1 is too small; the minimum is 2");
  CHECK(error_of([&] { task->sample(g, 1, 17); }).find("maximum is 16") != std::string::npos);
}

TEST_CASE("sentiment: hand-labelled sentences, tokenizer, generated labels", "[tasks]") {
  namespace s = unroll::tasks::sentiment;
  const std::vector<std::pair<std::string, int>> labelled = {
      {"the movie was great", 1},
      {"the plot was not bad", 1},
      {"i expected it to be great but it was dull", 0},
      {"i thought the plot would be bad but it was not boring", 1},
      {"the acting was very boring", 0},
      {"the film is not very good", 0},
      {"i did not like the ending", 0},
      {"I really loved the movie!", 1},
      {"the music was good but the story was terrible", 0},
      {"the story was terrible but the music was good", 1},
      {"it was bad but the acting was great but the ending was weak", 0},
      // A "not" before "but" does not reach the deciding clause.
      {"the plot was not good but the acting was bad", 0},
      {"it was not bad but the ending was great", 1},
      {"i did not hate it but the music was not fun", 0},
  };
  for (const auto& [text, label] : labelled) {
    INFO(text);
    CHECK(s::rule_label(s::words(text)) == label);
  }
  const auto vocab = s::vocabulary();
  CHECK(vocab[0] == "<pad>");
  CHECK(std::set<std::string>(vocab.begin(), vocab.end()).size() == vocab.size());
  CHECK(make_task("sentiment")->spec().input_dim == vocab.size());
  const auto ids = s::tokenize("The movie, was great.");
  REQUIRE(ids.size() == 4);
  CHECK(vocab[ids[0]] == "the");
  CHECK(vocab[ids[3]] == "great");
  const IndexTensor enc = s::encode("the movie was great", 6);
  CHECK(shape_of(enc) == Shape{1, 6});
  CHECK(enc(0, 0) == s::kPad);
  CHECK(enc(0, 1) == s::kPad);
  CHECK(enc(0, 2) == ids[0]);
  CHECK(shape_of(s::encode("the movie was great", 2)) == Shape{1, 4});
  CHECK(error_of([] { s::tokenize("the movie was awesome"); }).find("unknown word 'awesome'") !=
        std::string::npos);
  CHECK(error_of([] { s::tokenize(" .. "); }) == "sentiment: empty sentence");
  CHECK(error_of([] {
          s::rule_label({"the", "movie"});
        }).find("no polarity word") != std::string::npos);

  // Generated sentences: left-padded, label = rule on the decoded words, classes balanced,
  // and the grammar's negations and contrasts actually occur.
  const auto task = make_task("sentiment");
  Generator g(6);
  const Batch b = task->sample(g, 2000, 16);
  std::size_t positive = 0, with_but = 0, with_not = 0;
  for (std::size_t i = 0; i < 2000; ++i) {
    std::size_t t = 0;
    while (t < 16 && b.tokens(i, t) == s::kPad) ++t;
    std::vector<std::string> ws;
    for (; t < 16; ++t) {
      REQUIRE(b.tokens(i, t) != s::kPad);
      ws.push_back(vocab[b.tokens(i, t)]);
    }
    REQUIRE(ws.size() >= 3);
    CHECK(b.class_targets(i, 15) == s::rule_label(ws));
    positive += b.class_targets(i, 15) == 1;
    with_but += std::count(ws.begin(), ws.end(), "but") > 0;
    with_not += std::count(ws.begin(), ws.end(), "not") > 0;
  }
  CHECK(positive > 900);
  CHECK(positive < 1100);
  CHECK(with_but > 200);
  CHECK(with_not > 200);
  // Short lengths still produce complete sentences.
  const Batch small = task->sample(g, 50, 3);
  for (std::size_t i = 0; i < 50; ++i) CHECK(small.tokens(i, 0) != s::kPad);
}

TEST_CASE("charlm: windows of the text, byte alphabet, unigram baseline, bpc", "[tasks]") {
  TempDir dir;
  const std::string text =
      "aaab\xff"
      "aaab\xff"
      "aaab\xff"
      "aaab\xff";
  const auto task = make_charlm_task(dir.write("t.txt", text));
  const auto& lm = dynamic_cast<const CharLMTask&>(*task);
  CHECK(lm.alphabet() == std::string("ab\xff"));
  CHECK(task->spec().input_dim == 3);
  CHECK(task->spec().output_dim == 3);
  // p = (12/20, 4/20, 4/20).
  const double h = -(0.6 * std::log2(0.6) + 2 * 0.2 * std::log2(0.2));
  CHECK(task->baseline(4) == Approx(h));
  Generator g(7);
  const Batch b = task->sample(g, 10, 6);
  for (std::size_t i = 0; i < 10; ++i) {
    std::vector<std::int64_t> ids;
    for (std::size_t t = 0; t < 6; ++t) ids.push_back(b.tokens(i, t));
    ids.push_back(b.class_targets(i, 5));
    for (std::size_t t = 0; t + 1 < 6; ++t) CHECK(b.class_targets(i, t) == b.tokens(i, t + 1));
    CHECK(text.find(lm.decode(ids)) != std::string::npos);
  }
  CHECK(lm.encode("ba\xff") == std::vector<std::int64_t>{1, 0, 2});
  CHECK(error_of([&] { lm.encode("c"); }).find("byte 99") != std::string::npos);
  // Uniform logits: log2(3) bits per character; perfect logits: ~0.
  const Tensor flat = xt::zeros<float>({std::size_t{10}, std::size_t{6}, std::size_t{3}});
  CHECK(task->metrics(flat, b).at("bpc") == Approx(std::log2(3.0)));
  CHECK(task->metrics(perfect_logits(b, 3), b).at("bpc") < 1e-6);
  CHECK(task->metric() == "bpc");
  CHECK_FALSE(task->higher_is_better());
  task->sample(g, 2, 19);  // the whole 20-byte text
  CHECK(error_of([&] { task->sample(g, 2, 20); }).find("needs 21 characters") != std::string::npos);

  // The generated corpus: deterministic, plain ASCII text, the default.
  const std::string corpus = generated_corpus();
  CHECK(corpus == generated_corpus());
  CHECK(corpus.size() >= 200000);
  for (char c : corpus) CHECK((c == '\n' || (c >= 32 && c < 127)));
  CHECK(dynamic_cast<const CharLMTask&>(*make_task("charlm")).text() == corpus);
}

TEST_CASE("charlm: bad text files are rejected with the path and the problem", "[tasks]") {
  TempDir dir;
  const std::string missing = (dir.path / "missing.txt").string();
  CHECK(error_of([&] { make_charlm_task(missing); }) ==
        "charlm: text file '" + missing + "' does not exist");
  CHECK(error_of([&] { make_charlm_task(dir.path.string()); }).find("not a regular file") !=
        std::string::npos);
  const auto empty = dir.write("empty.txt", "");
  CHECK(error_of([&] { make_charlm_task(empty); }) == "charlm: text file '" + empty + "' is empty");
  const auto one = dir.write("one.txt", "x");
  CHECK(error_of([&] { make_charlm_task(one); }).find("has 1 character") != std::string::npos);
  const auto nul = dir.write("nul.txt", std::string("ab\0cd", 5));
  CHECK(error_of([&] { make_charlm_task(nul); }).find("NUL byte at offset 2") != std::string::npos);
  TaskOptions o;
  o.text_path = one;
  CHECK_THROWS_AS(make_task("charlm", o), std::invalid_argument);
}

TEST_CASE("forecast: CSV column, z-scores, next-value targets, seasonal-naive baseline",
          "[tasks]") {
  TempDir dir;
  // 30 rows: a period-4 pattern plus a trend, in column "load" (second of three).
  std::vector<double> x;
  std::string csv = "time, load ,\"note, quoted\"\r\n";
  for (int i = 0; i < 30; ++i) {
    x.push_back(10.0 + 3.0 * ((i % 4) == 1) - 2.0 * ((i % 4) == 3) + 0.1 * i);
    csv += std::to_string(i) + "," + std::to_string(x.back()) + ",\"a, b\"\r\n";
  }
  csv += "\n";
  const auto path = dir.write("series.csv", csv);
  const auto task = make_forecast_task(path, "load", 4);
  // Independent z-scores (population standard deviation) and seasonal-naive MSE.
  double mean = 0, var = 0;
  for (double v : x) mean += v / 30.0;
  for (double v : x) var += (v - mean) * (v - mean) / 30.0;
  std::vector<double> z;
  for (double v : x) z.push_back((v - mean) / std::sqrt(var));
  double naive = 0;
  for (int i = 4; i < 30; ++i) naive += (z[i] - z[i - 4]) * (z[i] - z[i - 4]) / 26.0;
  CHECK(task->baseline(8) == Approx(naive).epsilon(1e-6));

  Generator g(8);
  const std::size_t T = 12;
  const Batch b = task->sample(g, 6, T);
  REQUIRE(shape_of(b.features) == Shape{6, T, 3});
  for (std::size_t i = 0; i < 6; ++i) {
    // Locate the window by its first value, then check every step against the series.
    std::size_t start = 30;
    for (std::size_t s = 0; s + T < 30; ++s)
      if (std::abs(z[s] - b.features(i, 0, 0)) < 1e-5) start = s;
    REQUIRE(start + T < 30);
    for (std::size_t t = 0; t < T; ++t) {
      CHECK(b.features(i, t, 0) == Approx(z[start + t]).margin(1e-5));
      CHECK(b.value_targets(i, t, 0) == Approx(z[start + t + 1]).margin(1e-5));
      const double phase = 2 * std::numbers::pi * ((start + t) % 4) / 4.0;
      CHECK(b.features(i, t, 1) == Approx(std::sin(phase)).margin(1e-6));
      CHECK(b.features(i, t, 2) == Approx(std::cos(phase)).margin(1e-6));
      CHECK(b.value_mask(i, t) == (t >= 4 ? 1.0f : 0.0f));  // warm-up: one season
    }
  }
  // The seasonal-naive metric on the batch, recomputed: predict z[s+t+1] by z[s+t+1-4].
  double se = 0, n = 0;
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t t = 4; t < T; ++t) {
      const double e = b.features(i, t - 3, 0) - b.value_targets(i, t, 0);
      se += e * e, n += 1;
    }
  const auto m = task->metrics(b.value_targets, b);
  CHECK(m.at("naive_mse") == Approx(se / n).epsilon(1e-6));
  CHECK(m.at("mse") == 0.0);
  const Tensor short_mask = task->sample(g, 1, 3).value_mask;
  const Tensor expected_mask = {{0.0f, 1.0f, 1.0f}};  // warm-up T/2 = 1 < season
  CHECK(short_mask == expected_mask);
  task->sample(g, 1, 29);
  CHECK(error_of([&] { task->sample(g, 1, 30); }).find("needs 31 values") != std::string::npos);

  // Generated default: a daily season; seasonal naive beats predicting the mean (MSE 1).
  const auto gen_task = make_task("forecast");
  CHECK(gen_task->default_length() == 96);
  CHECK(gen_task->spec().input_dim == 3);
  const double base = gen_task->baseline(96);
  CHECK(base > 0.0);
  CHECK(base < 0.5);
  const Batch gb = gen_task->sample(g, 400, 96);
  CHECK(gen_task->metrics(gb.value_targets, gb).at("naive_mse") == Approx(base).epsilon(0.15));
  const Batch gb2 = gen_task->sample(g, 400, 96);
  const Tensor mean_pred = xt::zeros<float>({std::size_t{400}, std::size_t{96}, std::size_t{1}});
  CHECK(gen_task->metrics(mean_pred, gb2).at("mse") == Approx(1.0).epsilon(0.2));
}

TEST_CASE("forecast: bad CSV input names the file, line, column and problem", "[tasks]") {
  TempDir dir;
  auto rows = [](const std::string& bad_row) {
    std::string s = "a,b\n";
    for (int i = 0; i < 30; ++i)
      s += i == 10 ? bad_row + "\n" : std::to_string(i) + "," + std::to_string(i % 3) + "\n";
    return s;
  };
  const auto ok = dir.write("ok.csv", rows("10,1"));
  CHECK_NOTHROW(make_forecast_task(ok, "b", 4));
  const std::string missing = (dir.path / "nope.csv").string();
  CHECK(error_of([&] { make_forecast_task(missing, "b"); }) ==
        "forecast: cannot open CSV file '" + missing + "'");
  CHECK(error_of([&] { make_forecast_task(ok, "load"); }) ==
        "forecast: column 'load' not found in CSV file '" + ok + "'; its columns are 'a', 'b'");
  CHECK(error_of([&] { make_forecast_task(ok, ""); }).find("choose one with --column") !=
        std::string::npos);
  const auto text = dir.write("text.csv", rows("10,abc"));
  CHECK(error_of([&] { make_forecast_task(text, "b", 4); }) ==
        "forecast: CSV file '" + text + "' line 12, column 'b': 'abc' is not a number");
  const auto partial = dir.write("partial.csv", rows("10,1.5x"));
  CHECK(error_of([&] { make_forecast_task(partial, "b", 4); }).find("'1.5x' is not a number") !=
        std::string::npos);
  const auto nan = dir.write("nan.csv", rows("10,nan"));
  CHECK(error_of([&] {
          make_forecast_task(nan, "b", 4);
        }).find("line 12, column 'b': 'nan' is not a finite number") != std::string::npos);
  const auto blank = dir.write("blank.csv", rows("10,"));
  CHECK(error_of([&] {
          make_forecast_task(blank, "b", 4);
        }).find("line 12, column 'b': empty value") != std::string::npos);
  const auto shortrow = dir.write("short.csv", rows("10"));
  CHECK(error_of([&] { make_forecast_task(shortrow, "b", 4); }).find("only 1 fields") !=
        std::string::npos);
  CHECK(error_of([&] {
          make_forecast_task(ok, "b", 29);
        }).find("has 30 values; at least 31 are needed") != std::string::npos);
  const auto flat = dir.write("flat.csv", "v\n5\n5\n5\n5\n5\n5\n5\n5\n");
  CHECK(error_of([&] { make_forecast_task(flat, "", 2); }).find("is constant") !=
        std::string::npos);
  const auto empty = dir.write("empty.csv", "");
  CHECK(error_of([&] { make_forecast_task(empty, "b"); }).find("is empty") != std::string::npos);
  TaskOptions o;
  o.csv_column = "load";
  CHECK(error_of([&] { make_task("forecast", o); }).find("needs a CSV file") != std::string::npos);
  o.csv_path = ok;
  o.csv_column = "b";
  CHECK(make_task("forecast", o)->description().find(ok) != std::string::npos);
}
