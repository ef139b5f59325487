// A character-level language model in the spirit of the char-rnn experiments: learn to
// predict the next byte of a text, then generate new text by sampling one character at a
// time and feeding it back in.
//
// Two models with one interface: an LSTM (the state h, c carries everything read so far)
// and a causal Transformer (attends to every earlier position; the KV cache keeps the keys
// and values of those positions so each new character costs one step, not a re-read).
//
//   ./build/examples/char_rnn                                  # LSTM on the generated corpus
//   ./build/examples/char_rnn --text book.txt --steps 3000     # your own text, longer
//   ./build/examples/char_rnn --model transformer --temperature 0.5
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "tasks/charlm.hpp"
#include "unroll.hpp"

using namespace unroll;

namespace {

constexpr std::size_t kContext = 64;  // training window: characters of history per sequence

/// One token id as a batch of one: [1].
IndexTensor batch_of(std::int64_t id) {
  IndexTensor t = xt::zeros<std::int64_t>({std::size_t{1}});
  t(0) = id;
  return t;
}

/// What generation needs from a model: scores for every position of a batch (training),
/// and one step at a time from a carried state (sampling).
struct CharModel : nn::Module {
  /// ids [B, T] -> logits [B, T, V] for the next character at every position.
  virtual Var forward(const IndexTensor& ids) = 0;
  /// Forget the sampling state.
  virtual void reset() = 0;
  /// Consume one character, return the logits [V] for the next.
  virtual Tensor next(std::int64_t id) = 0;
};

struct LSTMModel : CharModel {
  LSTMModel(std::size_t vocab, std::size_t hidden, Generator& gen) {
    embed = register_module("embed", std::make_shared<nn::Embedding>(vocab, hidden, -1, gen));
    lstm = register_module("lstm", std::make_shared<nn::LSTM>(
                                       hidden, hidden, nn::RNNOptions{.batch_first = true}, gen));
    head = register_module("head", std::make_shared<nn::Linear>(hidden, vocab, true, gen));
  }
  Var forward(const IndexTensor& ids) override {
    return head->forward(lstm->forward(embed->forward(ids)).output);
  }
  void reset() override { state.clear(); }
  Tensor next(std::int64_t id) override {
    // The trained layer's cell, stepped by hand: generation is a loop in which input t + 1
    // is the sample drawn from output t, which a whole-sequence forward cannot express.
    nn::RecurrentCell& cell = lstm->cell(0);
    if (state.empty()) state = cell.initial_state(1);
    state = cell.forward(embed->forward(batch_of(id)), state);  // [1, H] each
    return xt::view(head->forward(cell.output(state)).value(), 0);
  }
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::Linear> head;
  nn::State state;
};

struct TransformerModel : CharModel {
  TransformerModel(std::size_t vocab, std::size_t d_model, Generator& gen) {
    nn::TransformerSequenceModelOptions o;
    o.vocab_size = vocab;
    o.output_size = vocab;
    o.d_model = d_model;
    o.nhead = 4;
    o.num_layers = 2;
    o.dim_feedforward = 2 * d_model;
    o.dropout = 0.0f;  // a few hundred steps do not overfit; dropout would only slow learning
    o.causal = true;   // position t sees 0..t only: required for next-character prediction
    o.max_len = kContext;
    model = register_module("model", std::make_shared<nn::TransformerSequenceModel>(o, gen));
    // The embedding is scaled by sqrt(d_model) in forward; N(0, 1/d_model) brings it to the
    // unit scale of the sinusoidal positions instead of drowning them.
    model->embedding->weight.mutable_value() = gen.normal_tensor(
        model->embedding->weight.shape(), 0.0f, 1.0f / std::sqrt(static_cast<float>(d_model)));
  }
  Var forward(const IndexTensor& ids) override { return model->forward(ids); }
  void reset() override {
    cache.clear();
    history.clear();
  }
  Tensor next(std::int64_t id) override {
    // Positions beyond the training window were never seen; when the cache is full, start
    // it again from the last half window of text (a sliding window re-primed in steps).
    if (cache.length() == kContext) {
      cache.clear();
      std::vector<std::int64_t> keep(history.end() - kContext / 2, history.end());
      history.clear();
      for (std::int64_t k : keep) step(k);
    }
    return step(id);
  }
  Tensor step(std::int64_t id) {
    history.push_back(id);
    return xt::view(model->step(batch_of(id), cache).value(), 0);  // [1, V] -> [V]
  }
  /// max |step-by-step logits - whole-sequence logits| over ids [T]: the cache is exact, not
  /// an approximation, so this is rounding error only.
  float cache_error(const std::vector<std::int64_t>& ids) {
    IndexTensor seq = xt::zeros<std::int64_t>({std::size_t{1}, ids.size()});
    std::copy(ids.begin(), ids.end(), seq.begin());
    const Tensor full = model->forward(seq).value();  // [1, T, V]
    nn::KVCache c;
    float worst = 0;
    for (std::size_t t = 0; t < ids.size(); ++t) {
      const Tensor one = model->step(batch_of(ids[t]), c).value();  // [1, V]
      worst = std::max(worst, xt::amax(xt::abs(one - xt::view(full, 0, t)))());
    }
    return worst;
  }
  std::shared_ptr<nn::TransformerSequenceModel> model;
  nn::KVCache cache;
  std::vector<std::int64_t> history;
};

// Draws from softmax(logits / temperature): low temperature picks the likeliest characters
// (repetitive text), high temperature flattens the distribution (more surprising text).
std::int64_t sample(const Tensor& logits, float temperature, Generator& gen) {
  const float m = xt::amax(logits)();
  Tensor p = xt::exp((logits - m) / temperature);
  float u = gen.uniform() * xt::sum(p)();
  for (std::size_t i = 0; i < p.size(); ++i)
    if ((u -= p(i)) <= 0) return static_cast<std::int64_t>(i);
  return static_cast<std::int64_t>(p.size() - 1);
}

// Bits per character on fixed windows: cross-entropy in nats / ln 2.
double bits_per_char(CharModel& m, const tasks::Batch& b) {
  autograd::NoGradGuard no_grad;
  const Var logits = m.forward(b.tokens);
  return ops::cross_entropy(logits, b.class_targets, ops::Reduction::Mean, tasks::kNoTarget)
             .item() /
         std::log(2.0);
}

int usage_error(const std::string& msg) {
  std::fprintf(stderr,
               "char_rnn: %s (usage: char_rnn [--text PATH] [--model lstm|transformer] [--steps "
               "N] [--lr LR] [--temperature T] [--length N] [--prompt TEXT] [--seed N])\n",
               msg.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string text_path, kind = "lstm", prompt = "The ";
  long steps = 250, length = 300, seed = 1;
  float temperature = 0.7f;
  double lr = 0;  // 0: the model's default below
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    static const std::set<std::string> known = {"--text",        "--model", "--prompt", "--lr",
                                                "--temperature", "--steps", "--length", "--seed"};
    if (!known.count(a)) return usage_error("unknown argument '" + a + "'");
    if (i + 1 >= argc) return usage_error(a + " needs a value");
    const std::string v = argv[++i];
    char* end = nullptr;
    if (a == "--text") {
      text_path = v;
    } else if (a == "--model") {
      kind = v;
      if (kind != "lstm" && kind != "transformer")
        return usage_error("--model must be lstm or transformer, got '" + v + "'");
    } else if (a == "--prompt") {
      prompt = v;
    } else if (a == "--lr") {
      lr = std::strtod(v.c_str(), &end);
      if (*end || !(lr > 0) || !std::isfinite(lr))
        return usage_error("--lr needs a number > 0, got '" + v + "'");
    } else if (a == "--temperature") {
      temperature = std::strtof(v.c_str(), &end);
      if (*end || !(temperature > 0) || !std::isfinite(temperature))
        return usage_error("--temperature needs a number > 0, got '" + v + "'");
    } else {  // --steps, --length, --seed
      const long n = std::strtol(v.c_str(), &end, 10);
      if (*end || n < (a == "--seed" ? 0 : 1))
        return usage_error(a + " needs a whole number" + (a == "--seed" ? " >= 0" : " > 0") +
                           ", got '" + v + "'");
      (a == "--steps" ? steps : a == "--length" ? length : seed) = n;
    }
  }

  std::unique_ptr<tasks::CharLMTask> task;
  std::vector<std::int64_t> prompt_ids;
  try {  // a missing or unusable file is the user's mistake, not a crash
    task = std::make_unique<tasks::CharLMTask>(text_path);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "char_rnn: %s\n", e.what());
    return 2;
  }
  try {  // the model can only be fed characters that occur in its text
    prompt_ids = task->encode(prompt);
  } catch (const std::invalid_argument& e) {
    return usage_error("--prompt: " + std::string(e.what()));
  }
  if (prompt_ids.empty()) return usage_error("--prompt must not be empty");
  const std::size_t V = task->alphabet().size();
  std::printf("text: %s, %zu characters, alphabet of %zu\n",
              text_path.empty() ? "generated corpus" : text_path.c_str(), task->text().size(), V);

  Generator gen(static_cast<std::uint64_t>(seed));
  std::unique_ptr<CharModel> model;
  if (kind == "lstm")
    model = std::make_unique<LSTMModel>(V, 128, gen);
  else
    model = std::make_unique<TransformerModel>(V, 64, gen);
  std::printf("model: %s, %zu parameters\n", kind.c_str(), model->num_parameters());

  Generator held_out(777);  // the same evaluation windows before and after training
  const tasks::Batch eval = task->sample(held_out, 32, kContext);
  const double bpc_before = bits_per_char(*model, eval);

  if (lr == 0) lr = kind == "lstm" ? 1e-2 : 6e-3;
  optim::Adam opt(model->parameters(), {.lr = lr});
  const auto t0 = std::chrono::steady_clock::now();
  for (long step = 1; step <= steps; ++step) {
    const tasks::Batch b = task->sample(gen, 16, kContext);
    Var loss = ops::cross_entropy(model->forward(b.tokens), b.class_targets);
    opt.zero_grad();
    loss.backward();
    optim::clip_grad_norm(model->parameters(), 1.0f);  // rare large steps would undo progress
    opt.step();
    autograd::current_tape().clear();
    if (step == 1 || step % 50 == 0)
      std::printf("step %4ld  loss %.3f  (%.1f s)\n", step, loss.item(),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const double bpc_after = bits_per_char(*model, eval);
  std::printf("bpc %.3f -> %.3f (unigram baseline %.3f)%s\n", bpc_before, bpc_after,
              task->baseline(kContext),
              bpc_after < task->baseline(kContext) ? ": better than character frequencies" : "");

  // Generation: read the prompt, then feed each sampled character back in.
  autograd::NoGradGuard no_grad;
  model->eval();
  model->reset();
  if (auto* t = dynamic_cast<TransformerModel*>(model.get())) {
    const std::vector<std::int64_t> ids(eval.tokens.begin(), eval.tokens.begin() + kContext);
    std::printf("KV-cached steps vs full forward over %zu characters: max |difference| %.1e\n",
                kContext, t->cache_error(ids));
  }
  Tensor logits;
  for (std::int64_t id : prompt_ids) logits = model->next(id);
  std::vector<std::int64_t> out = prompt_ids;
  for (long i = 0; i < length; ++i) {
    out.push_back(sample(logits, temperature, gen));
    logits = model->next(out.back());
  }
  std::printf("sample (temperature %.2f):\n%s\n", temperature, task->decode(out).c_str());
  return bpc_after < bpc_before ? 0 : 1;
}
