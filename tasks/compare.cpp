#include "tasks/compare.hpp"

#include "autograd/tape.hpp"

namespace unroll::tasks {

double default_lr(const std::string& kind) {
  return kind == "transformer" ? 1e-3 : 3e-3;
}

std::vector<RunResult> run_compare(
    const CompareConfig& c,
    const std::function<void(const std::string&, const Progress&)>& on_progress) {
  std::vector<RunResult> results;
  for (const std::string& task_name : c.tasks) {
    std::unique_ptr<Task> task = make_task(task_name, c.task_options);
    const TaskSpec spec = task->spec();
    const std::size_t length = c.seq_len ? c.seq_len : task->default_length();
    std::vector<std::size_t> eval = c.eval_lengths;
    if (eval.empty()) eval = {length, 2 * length};

    // The LSTM at --hidden sets the parameter budget; each other model gets the width
    // whose parameter count is closest to it.
    ModelOptions base;
    base.kind = "lstm";
    base.hidden = c.hidden;
    base.layers = c.layers;
    base.heads = c.heads;
    Generator probe(0);
    const std::size_t budget = make_model(base, spec, probe)->num_parameters();

    for (const std::string& kind : c.models) {
      ModelOptions mo = base;
      mo.kind = kind;
      if (c.match_params && kind != "lstm") mo.hidden = matched_hidden(mo, spec, budget);
      if (kind == "transformer" && mo.hidden % mo.heads)
        mo.hidden += mo.heads - mo.hidden % mo.heads;
      Generator init(c.seed * 31 + 7);
      std::shared_ptr<SequenceModel> model = make_model(mo, spec, init);
      TrainConfig tc;
      tc.steps = c.steps;
      tc.batch = c.batch;
      tc.length = length;
      tc.lr = c.lr > 0 ? c.lr : default_lr(kind);
      tc.seed = c.seed;
      tc.eval_lengths = eval;
      tc.communicator = c.communicator;
      const std::string label = task_name + "/" + kind;
      results.push_back(train_and_evaluate(*task, *model, tc, [&](const Progress& p) {
        if (on_progress) on_progress(label, p);
      }));
    }
  }
  return results;
}

std::vector<GradFlow> gradient_flow(const Task& task, const std::vector<std::string>& models,
                                    std::size_t length, std::size_t hidden, std::uint64_t seed) {
  std::vector<GradFlow> flows;
  for (const std::string& kind : models) {
    if (kind == "transformer") continue;  // no recurrent state h_t
    ModelOptions mo;
    mo.kind = kind;
    mo.hidden = hidden;
    Generator init(seed * 31 + 7), data(seed * 7919 + 1);
    std::shared_ptr<SequenceModel> model = make_model(mo, task.spec(), init);
    autograd::Tape tape;
    autograd::TapeScope scope(tape);
    model->track_state_grads(true);
    Batch b = task.sample(data, 32, length);
    task.loss(model->forward(b), b).backward();
    flows.push_back({kind, model->state_gradient_norms()});
  }
  return flows;
}

}  // namespace unroll::tasks
