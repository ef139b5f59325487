#include "tasks/models.hpp"

#include <cmath>
#include <stdexcept>

#include "nn/layers.hpp"
#include "nn/recurrent.hpp"
#include "nn/transformer_model.hpp"
#include "ops/ops.hpp"

namespace unroll::tasks {

namespace {

// Token inputs go through an embedding of the hidden width; feature inputs go straight
// into the first recurrent layer.
class RecurrentModel : public SequenceModel {
 public:
  RecurrentModel(const ModelOptions& o, const TaskSpec& spec, Generator& gen) {
    options_ = o;
    std::size_t in = spec.input_dim;
    if (spec.input == InputKind::Tokens) {
      embedding_ = register_module(
          "embedding", std::make_shared<nn::Embedding>(spec.input_dim, o.hidden, -1, gen));
      in = o.hidden;
    }
    nn::RecurrentOptions ro;
    ro.num_layers = o.layers;
    ro.batch_first = true;
    const std::string kind = o.kind;
    const std::size_t hidden = o.hidden;
    rnn_ = register_module(
        "rnn", std::make_shared<nn::RecurrentLayer>(
                   [&](std::size_t i, std::size_t, bool) -> std::shared_ptr<nn::RecurrentCell> {
                     if (kind == "rnn")
                       return std::make_shared<nn::RNNCell>(i, hidden, true, nn::Nonlinearity::Tanh,
                                                            gen);
                     if (kind == "lstm")
                       return std::make_shared<nn::LSTMCell>(i, hidden, true, gen);
                     return std::make_shared<nn::GRUCell>(i, hidden, true, gen);
                   },
                   in, ro, gen));
    head_ =
        register_module("head", std::make_shared<nn::Linear>(o.hidden, spec.output_dim, true, gen));
  }

  Var forward(const Batch& b) override {
    Var x = embedding_ ? embedding_->forward(b.tokens) : Var(b.features);
    nn::RecurrentOutput r = rnn_->forward(x);
    if (tracking_) steps_ = r.step_states.at(0);
    return head_->forward(r.output);
  }

  void track_state_grads(bool on) override {
    tracking_ = on;
    rnn_->set_track_state_grads(on);
  }
  std::vector<float> state_gradient_norms() const override {
    return nn::state_gradient_norms(steps_);
  }

 private:
  std::shared_ptr<nn::Embedding> embedding_;
  std::shared_ptr<nn::RecurrentLayer> rnn_;
  std::shared_ptr<nn::Linear> head_;
  bool tracking_ = false;
  std::vector<Var> steps_;
};

class TransformerModel : public SequenceModel {
 public:
  TransformerModel(const ModelOptions& o, const TaskSpec& spec, Generator& gen) {
    options_ = o;
    nn::TransformerSequenceModelOptions t;
    if (spec.input == InputKind::Tokens)
      t.vocab_size = spec.input_dim;
    else
      t.input_size = spec.input_dim;
    t.output_size = spec.output_dim;
    t.d_model = o.hidden;
    t.nhead = o.heads;
    t.num_layers = o.layers;
    t.dim_feedforward = 2 * o.hidden;
    t.dropout = 0.0f;  // small synthetic tasks: dropout only slows the comparison down
    t.causal = true;   // per-step outputs may use the past only, like the recurrent models
    t.max_len = o.max_len;
    model_ = register_module("transformer", std::make_shared<nn::TransformerSequenceModel>(t, gen));
  }
  Var forward(const Batch& b) override {
    return b.tokens.dimension() == 2 ? model_->forward(b.tokens) : model_->forward(Var(b.features));
  }
  void track_state_grads(bool) override {}
  std::vector<float> state_gradient_norms() const override { return {}; }

 private:
  std::shared_ptr<nn::TransformerSequenceModel> model_;
};

}  // namespace

std::vector<std::string> model_names() {
  return {"rnn", "lstm", "gru", "transformer"};
}

std::shared_ptr<SequenceModel> make_model(const ModelOptions& o, const TaskSpec& spec,
                                          Generator& gen) {
  if (o.hidden == 0) throw std::invalid_argument("model: hidden size must be >= 1");
  if (o.layers == 0) throw std::invalid_argument("model: layers must be >= 1");
  if (o.kind == "rnn" || o.kind == "lstm" || o.kind == "gru")
    return std::make_shared<RecurrentModel>(o, spec, gen);
  if (o.kind == "transformer") {
    if (o.hidden % o.heads != 0)
      throw std::invalid_argument("transformer: d_model " + std::to_string(o.hidden) +
                                  " is not divisible by " + std::to_string(o.heads) + " heads");
    return std::make_shared<TransformerModel>(o, spec, gen);
  }
  throw std::invalid_argument("unknown model '" + o.kind +
                              "'; known models: rnn, lstm, gru, transformer");
}

std::size_t matched_hidden(ModelOptions o, const TaskSpec& spec, std::size_t budget) {
  // Parameter count grows monotonically with the width: scan candidate widths (multiples of
  // the head count for the transformer) and keep the closest. Models are tiny to build.
  const std::size_t stepw = o.kind == "transformer" ? o.heads : 1;
  std::size_t best = stepw, best_gap = SIZE_MAX;
  Generator gen(0);
  for (std::size_t h = stepw; h <= 1024; h += stepw) {
    o.hidden = h;
    const std::size_t n = make_model(o, spec, gen)->num_parameters();
    const std::size_t gap = n > budget ? n - budget : budget - n;
    if (gap < best_gap) best = h, best_gap = gap;
    if (n > budget) break;
  }
  return best;
}

}  // namespace unroll::tasks
