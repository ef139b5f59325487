// Every model learns every task at a small setting: after at most 600 Adam steps its
// evaluation metric (512 fresh sequences) is clearly better than the task's baseline.
//
// "Clearly" is fixed per task below, each threshold far from the noise of 512 evaluation
// sequences and met with room to spare at seeds 1, 2 and 3 (the measured ranges are in the
// comments; the test fixes seed 1). Where a baseline is weaker than a trivial strategy
// (associative recall, charlm) the threshold is set against that strategy instead.
//
// One exception is measured rather than wished away: a tanh RNN does not learn copy-memory
// and only partly learns selective copy within this budget at any small setting tried
// (hidden 16-128, lr 1e-3 to 3e-2, batch 32-256, the shortest lengths; on copy it was still
// at accuracy 0.19 after 2000 steps). PyTorch's nn.RNN behaves the same (width 32, Adam
// 1e-2, clip 1, batch 128, 600 steps: copy T=1 accuracy 0.14-0.26; selective copy T=6
// 0.23-0.25, cross-entropy 1.44-1.55), so it is the architecture (vanishing gradients over
// 10+ steps), not this implementation. For those two cases the test asserts what the RNN
// does reach, so that the failure the comparison reports stays visible and explained.

#include <cmath>
#include <map>

#include "helpers.hpp"
#include "tasks/charlm.hpp"
#include "tasks/compare.hpp"

using namespace unroll;

namespace {

constexpr std::uint64_t kSeed = 1;
const double kLn8 = std::log(8.0);

struct Setting {
  std::size_t length, hidden, batch, steps;
  double lr;
  std::size_t layers = 1;
};

struct Outcome {
  double metric, baseline;
  std::map<std::string, double> all;  // every metric at the training length
};

Outcome learn(const tasks::Task& task, const std::string& kind, const Setting& s) {
  tasks::ModelOptions mo;
  mo.kind = kind;
  mo.hidden = s.hidden;
  mo.layers = s.layers;
  Generator init(kSeed);
  auto model = tasks::make_model(mo, task.spec(), init);
  tasks::TrainConfig tc;
  tc.steps = s.steps;
  tc.batch = s.batch;
  tc.length = s.length;
  tc.lr = s.lr;
  tc.seed = kSeed;
  tc.log_every = s.steps;  // the curve is not looked at here
  tc.eval_sequences = 512;
  const tasks::RunResult r = tasks::train_and_evaluate(task, *model, tc);
  const auto& m = r.eval.at(s.length);
  return {m.at(task.metric()), r.baseline.at(s.length), m};
}

const std::vector<std::string> kModels = {"rnn", "lstm", "gru", "transformer"};

}  // namespace

TEST_CASE("learning: copy-memory at T = 1 (10 symbols recalled 11 steps later)", "[learning]") {
  // The task's shortest delay; lr 1e-2 for every model. Measured (seeds 1-3): LSTM
  // 0.47-0.65, GRU 0.49-0.59, Transformer 1.00 (by step 100), RNN 0.13-0.20.
  auto task = tasks::make_task("copy");
  const Setting s{1, 32, 64, 600, 1e-2};
  for (const auto& kind : kModels) {
    const Outcome o = learn(*task, kind, s);
    const double ce = o.all.at("cross_entropy");
    INFO(kind << ": accuracy " << o.metric << " vs baseline " << o.baseline << ", cross-entropy "
              << ce << " vs memoryless ln 8 = " << kLn8);
    if (kind == "rnn") {
      // Not learned (see the top of the file): it finds the memoryless optimum (uniform over
      // the 8 symbols, cross-entropy ln 8) and stays near chance. If this starts failing
      // because the RNN recalls, check the generator for a leak before celebrating.
      CHECK(ce <= kLn8 + 0.05);
      CHECK(o.metric >= o.baseline - 0.03);
      CHECK(o.metric < o.baseline + 0.2);
    } else {
      CHECK(o.metric >= o.baseline + 0.25);  // chance 1/8: at least 3x chance
      CHECK(ce < 0.7 * kLn8);
    }
  }
}

TEST_CASE("learning: selective copy of 4 symbols scattered over 6 steps", "[learning]") {
  // Batch 128: at batch 64 the LSTM sat on the chance plateau for all 600 steps (seed 1).
  // Measured (seeds 1-3): LSTM 0.46-0.96, GRU 0.69-0.87, Transformer 0.84-0.95,
  // RNN 0.19-0.24 with cross-entropy 1.56-1.79. (The RNN figures moved from 0.22-0.24 /
  // 1.62-1.66 when cross_entropy began keeping the row max and log-sum apart: its outcome
  // here turns on float rounding, so its bounds sit below the whole measured range.)
  auto task = tasks::make_task("selective_copy");
  const Setting s{6, 32, 128, 600, 1e-2};
  for (const auto& kind : kModels) {
    const Outcome o = learn(*task, kind, s);
    const double ce = o.all.at("cross_entropy");
    INFO(kind << ": accuracy " << o.metric << " vs baseline " << o.baseline << ", cross-entropy "
              << ce << " vs memoryless ln 8 = " << kLn8);
    if (kind == "rnn") {
      // Partly learned (see the top of the file; at T = 4, no noise at all, it reaches only
      // 0.24-0.40): what it does reach is 1.3x chance and 0.2 nats of information per symbol
      // (an RNN that learns nothing stays at 1x and ln 8).
      // The 0.2 nats were set on OpenBLAS-only builds; with oneDNN's GEMMs (now found on a
      // fresh machine, see scripts/bootstrap.sh) the sanitizer build's RNN ends at 1.882 =
      // ln 8 - 0.198, so the information bound is 0.15 nats and accuracy carries the test.
      CHECK(o.metric >= 1.3 * o.baseline);
      CHECK(ce <= kLn8 - 0.15);
    } else {
      CHECK(o.metric >= o.baseline + 0.25);
    }
  }
}

TEST_CASE("learning: the adding problem at T = 10", "[learning]") {
  // Baseline 1/6 (predict 1 always). Threshold: a fifth of it. Measured (seeds 1-3): RNN
  // 0.005-0.015, LSTM 0.0006-0.0011, GRU and Transformer below 0.0008.
  auto task = tasks::make_task("adding");
  const Setting s{10, 32, 64, 600, 1e-2};
  for (const auto& kind : kModels) {
    const Outcome o = learn(*task, kind, s);
    INFO(kind << ": mse " << o.metric << " vs baseline " << o.baseline);
    CHECK(o.metric <= 0.2 * o.baseline);
  }
}

TEST_CASE("learning: parity of 4 bits", "[learning]") {
  // Chance 0.5. Threshold 0.8: at most about 3 of the 16 patterns wrong. Measured (seeds
  // 1-3): 1.00 for the recurrent models, 0.94-1.00 for the Transformer.
  auto task = tasks::make_task("parity");
  const Setting s{4, 32, 32, 400, 1e-2};
  for (const auto& kind : kModels) {
    const Outcome o = learn(*task, kind, s);
    INFO(kind << ": accuracy " << o.metric << " vs baseline " << o.baseline);
    CHECK(o.metric >= 0.8);
  }
}

TEST_CASE("learning: associative recall with 2 key-value pairs", "[learning]") {
  // Chance is 1/8, but guessing one of the 2 values seen scores 1/8 + 7/8 * 1/2 = 0.5625
  // without any lookup, and every model first plateaus there. The threshold 0.7 needs
  // the lookup. Measured (seeds 1-3): RNN 0.76-0.84, LSTM 0.96-0.98, GRU 0.94-0.97,
  // Transformer 1.00 (by step 200).
  //
  // The Transformer gets 2 layers of width 32: returning "the token after the key that
  // matches the query" is two composed attention steps (an induction head: copy each key
  // into its value's position, then match the query), which one layer has no direct way to
  // do; with 1 layer (width 32 or 64, batch 32 or 128, up to 2000
  // steps) it stayed on that plateau at 0.55-0.60.
  // 2 x 32 has 18k parameters, between the RNN's 10k and the LSTM's 35k at width 64; the
  // recurrent models need width 64 (the RNN at 32: 0.59-0.80 depending on the seed).
  auto task = tasks::make_task("assoc_recall");
  const Setting recurrent{2, 64, 128, 600, 1e-2};
  Setting transformer = recurrent;
  transformer.hidden = 32;
  transformer.layers = 2;
  for (const auto& kind : kModels) {
    const Outcome o = learn(*task, kind, kind == "transformer" ? transformer : recurrent);
    INFO(kind << ": accuracy " << o.metric << " vs baseline " << o.baseline);
    CHECK(o.metric >= 0.7);
  }
}

TEST_CASE("learning: rule-labelled sentiment at 16 words", "[learning]") {
  // Chance 0.5; sentences at this length include negation and "but" contrast. Measured
  // (seeds 1-3): 0.996-1.00 for every model.
  auto task = tasks::make_task("sentiment");
  const Setting s{16, 32, 32, 300, 1e-2};
  for (const auto& kind : kModels) {
    const Outcome o = learn(*task, kind, s);
    INFO(kind << ": accuracy " << o.metric << " vs baseline " << o.baseline);
    CHECK(o.metric >= 0.95);
  }
}

TEST_CASE("learning: character language model on the generated corpus", "[learning]") {
  // The unigram baseline (4.30 bits) is beaten by any model that reads one character, so
  // the bar is the corpus's own trigram conditional entropy H(x_t | x_t-2, x_t-1),
  // computed here from the text (1.53 bits; bigram 2.88): the best any model that sees
  // only the last two characters can do on this text. Beating it means using longer
  // context. Measured (seeds 1-3): RNN 1.10-1.15, LSTM 1.04-1.06, GRU 1.02-1.04,
  // Transformer 1.24-1.27 bpc.
  auto task = tasks::make_task("charlm");
  const auto* lm = dynamic_cast<const tasks::CharLMTask*>(task.get());
  REQUIRE(lm != nullptr);
  const std::string& text = lm->text();
  std::map<std::string, std::map<char, double>> counts;
  for (std::size_t i = 0; i + 2 < text.size(); ++i) counts[text.substr(i, 2)][text[i + 2]] += 1;
  double trigram_bits = 0;
  const double n = static_cast<double>(text.size() - 2);
  for (const auto& [context, next] : counts) {
    double total = 0;
    for (const auto& [c, k] : next) total += k;
    for (const auto& [c, k] : next) trigram_bits -= k / n * std::log2(k / total);
  }
  REQUIRE(trigram_bits < task->baseline(32) - 2.0);  // far below the unigram, as expected

  const Setting s{32, 32, 32, 400, 1e-2};
  for (const auto& kind : kModels) {
    const Outcome o = learn(*task, kind, s);
    INFO(kind << ": bpc " << o.metric << " vs unigram " << o.baseline << ", trigram "
              << trigram_bits);
    CHECK(o.metric < trigram_bits);
  }
}

TEST_CASE("learning: one-step forecasting of the generated load curve", "[learning]") {
  // Baseline: seasonal naive (the value 24 hours earlier), MSE 0.155 in z units;
  // persistence (the current value) scores 0.21 and linear extrapolation 0.115 on the same
  // windows. Threshold: a quarter of the baseline. Measured (seeds 1-3): 0.019-0.023 for
  // every model.
  auto task = tasks::make_task("forecast");
  const Setting s{48, 32, 32, 300, 1e-2};
  for (const auto& kind : kModels) {
    const Outcome o = learn(*task, kind, s);
    INFO(kind << ": mse " << o.metric << " vs baseline " << o.baseline);
    CHECK(o.metric <= 0.25 * o.baseline);
  }
}

TEST_CASE("compare: the same configuration gives identical results", "[learning]") {
  tasks::CompareConfig c;
  c.tasks = {"adding"};
  c.models = {"lstm", "transformer"};
  c.steps = 30;
  c.seq_len = 6;
  c.hidden = 8;
  const auto a = tasks::run_compare(c);
  const auto b = tasks::run_compare(c);
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].model);
    CHECK(a[i].model == b[i].model);
    CHECK(a[i].parameters == b[i].parameters);
    CHECK(a[i].final_loss == b[i].final_loss);
    CHECK(a[i].eval == b[i].eval);  // every metric at every evaluation length, bit for bit
    REQUIRE(a[i].curve.size() == b[i].curve.size());
    REQUIRE(!a[i].curve.empty());
    for (std::size_t k = 0; k < a[i].curve.size(); ++k) {
      CHECK(a[i].curve[k].step == b[i].curve[k].step);
      CHECK(a[i].curve[k].loss == b[i].curve[k].loss);
      CHECK(a[i].curve[k].metric == b[i].curve[k].metric);
    }
  }
  // The equality is not vacuous: another seed trains on other data and gives other numbers.
  c.seed = 2;
  const auto other = tasks::run_compare(c);
  REQUIRE(other.size() == 2);
  CHECK(other[0].final_loss != a[0].final_loss);
  CHECK(other[0].eval.at(6).at("mse") != a[0].eval.at(6).at("mse"));
}
