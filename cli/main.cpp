// The `unroll` command line: compare, train, eval, tasks, gradflow.
// Bad input exits with status 2 and one line naming what was wrong. Under mpirun (or with
// --data-parallel) train and compare run data-parallel; a rank that fails prints
// "rank R: ..." and aborts the whole job instead of leaving the others waiting.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#ifdef UNROLL_HAVE_MPI
#include "distributed/mpi_communicator.hpp"
#endif

int main(int argc, char** argv) {
  using namespace unroll::cli;
  CLI::App app{"unroll: recurrent networks and attention, compared on sequence tasks"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");

  CommonOptions common;
  CompareOptions cmp;
  auto* compare = app.add_subcommand("compare", "train every model on every task and report");
  add_common(*compare, common);
  compare->add_option("--tasks", cmp.tasks, "comma-separated tasks (see `unroll tasks`)")
      ->delimiter(',')
      ->capture_default_str();
  compare->add_option("--models", cmp.models, "comma-separated models: rnn, lstm, gru, transformer")
      ->delimiter(',')
      ->capture_default_str();
  compare
      ->add_option("--eval-lengths", cmp.eval_lengths,
                   "comma-separated evaluation lengths (default: seq-len and twice it)")
      ->delimiter(',')
      ->check(integer_in(1, kMaxLength));
  compare->add_option("--out", cmp.out, "report directory (default runs/<timestamp>)");
  compare->add_flag("!--no-match-params", cmp.match_params,
                    "keep --hidden for every model instead of matching the LSTM's parameter count");

  TrainOptions tr;
  auto* train = app.add_subcommand("train", "train one model on one task, save a checkpoint");
  add_common(*train, common);
  train->add_option("--task", tr.task, "task name")->required();
  train->add_option("--model", tr.model, "rnn, lstm, gru or transformer")->required();
  train->add_option("--save", tr.save, "checkpoint path to write (atomically)");
  train->add_option("--resume", tr.resume, "checkpoint to continue from");
  train
      ->add_option("--save-every", tr.save_every,
                   "steps between checkpoints (default: a tenth of --steps)")
      ->check(integer_in(1, kMaxSteps));

  EvalOptions ev;
  auto* eval = app.add_subcommand("eval", "evaluate a checkpoint; prints metrics and a JSON line");
  eval->add_option("--checkpoint", ev.checkpoint, "checkpoint written by `unroll train --save`")
      ->required();
  eval->add_option("--task", ev.task, "task (default: the checkpoint's)");
  eval->add_option("--seq-len", ev.seq_len, "evaluation length (default: the training length)")
      ->check(integer_in(1, kMaxLength));
  eval->add_option("--sequences", ev.sequences, "number of evaluation sequences")
      ->capture_default_str()
      ->check(integer_in(1, kMaxSteps));

  auto* list = app.add_subcommand("tasks", "list the tasks with their metric");

  SampleOptions sm;
  auto* sample = app.add_subcommand("sample", "generate text from a charlm checkpoint");
  sample->add_option("--checkpoint", sm.checkpoint, "checkpoint of `unroll train --task charlm`")
      ->required();
  sample->add_option("--length", sm.length, "characters to generate")
      ->capture_default_str()
      ->check(integer_in(1, 1000000));
  sample
      ->add_option("--temperature", sm.temperature,
                   "softmax temperature (lower: more conservative)")
      ->capture_default_str()
      ->check(CLI::Range(1e-3, 100.0));
  sample->add_option("--prime", sm.prime,
                     "text to start from (default: the corpus's first character)");
  sample->add_option("--seed", sm.seed, "random seed")
      ->capture_default_str()
      ->check(integer_in(0, UINT64_MAX));

  GradflowOptions gf;
  auto* gradflow = app.add_subcommand("gradflow", "||dLoss/dh_t|| against t for each model");
  gradflow->add_option("--task", gf.task, "task name")->capture_default_str();
  gradflow->add_option("--models", gf.models, "comma-separated recurrent models")
      ->delimiter(',')
      ->capture_default_str();
  gradflow->add_option("--seq-len", gf.seq_len, "sequence length")
      ->capture_default_str()
      ->check(integer_in(1, kMaxLength));
  gradflow->add_option("--hidden", gf.hidden, "hidden size")
      ->capture_default_str()
      ->check(integer_in(1, kMaxHidden));
  gradflow->add_option("--seed", gf.seed, "random seed")
      ->capture_default_str()
      ->check(integer_in(0, UINT64_MAX));
  gradflow->add_option("--out", gf.out, "directory for the chart and table (optional)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports a misspelt subcommand as a missing one; name what was typed instead.
    if (app.get_subcommands().empty() && argc > 1 && argv[1][0] != '-') {
      std::fprintf(stderr,
                   "unroll: error: unknown subcommand '%s'; expected one of compare, train, eval, "
                   "sample, tasks, gradflow (see unroll --help)\n",
                   argv[1]);
      return 2;
    }
    std::fprintf(
        stderr, "unroll: error: %s (see unroll %s--help)\n", e.what(),
        app.get_subcommands().empty() ? "" : (app.get_subcommands()[0]->get_name() + " ").c_str());
    return 2;
  }

  // train and compare are data-parallel when asked to or when an MPI launcher started several
  // copies of this process; the other commands are not distributed.
  const int launched = unroll::distributed::launcher_world_size();
  std::unique_ptr<unroll::distributed::Communicator> comm;
  if ((*compare || *train) && (common.data_parallel || launched > 1)) {
#ifdef UNROLL_HAVE_MPI
    try {
      comm = std::make_unique<unroll::distributed::MpiCommunicator>(&argc, &argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "unroll: failed: %s\n", e.what());
      return 1;
    }
#else
    if (common.data_parallel)
      std::fprintf(stderr,
                   "unroll: error: --data-parallel needs unroll built with MPI (install "
                   "libopenmpi-dev and configure again)\n");
    else
      std::fprintf(stderr,
                   "unroll: error: started by an MPI launcher as one of %d processes, but this "
                   "unroll was built without MPI (install libopenmpi-dev and configure again)\n",
                   launched);
    return 2;
#endif
  }
  // One line on stderr and the exit status; a failing rank of a data-parallel job names
  // itself and ends every rank (they would otherwise wait for it in the next collective).
  auto fail = [&](int code, const char* kind, const char* what) {
    if (comm && comm->size() > 1) {
      std::fprintf(stderr, "rank %d: unroll: %s: %s\n", comm->rank(), kind, what);
      std::fflush(stderr);
      comm->abort(code);
    }
    std::fprintf(stderr, "unroll: %s: %s\n", kind, what);
    return code;
  };

  try {
    if (*compare) return run_compare_command(common, cmp, comm.get());
    if (*train) return run_train_command(common, tr, comm.get());
    if (*eval) return run_eval_command(ev);
    if (*list) return run_tasks_command();
    if (*sample) return run_sample_command(sm);
    if (*gradflow) return run_gradflow_command(gf);
  } catch (const UsageError& e) {
    return fail(2, "error", e.what());
  } catch (const std::invalid_argument& e) {
    return fail(2, "error", e.what());
  } catch (const std::bad_alloc&) {
    return fail(1, "failed", "out of memory; try a smaller --batch, --seq-len or --hidden");
  } catch (const std::exception& e) {
    return fail(1, "failed", e.what());
  }
  return 0;
}
