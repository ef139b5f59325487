// Name -> task. The order of kTasks is the order `unroll tasks` and the default suite use.

#include <functional>
#include <utility>

#include "tasks/builtin.hpp"

namespace unroll::tasks {
namespace {

using Factory = std::function<std::unique_ptr<Task>(const TaskOptions&)>;

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> tasks = {
      {"copy", [](const TaskOptions&) { return make_copy_task(); }},
      {"adding", [](const TaskOptions&) { return make_adding_task(); }},
      {"parity", [](const TaskOptions&) { return make_parity_task(); }},
      {"selective_copy", [](const TaskOptions&) { return make_selective_copy_task(); }},
      {"assoc_recall", [](const TaskOptions&) { return make_assoc_recall_task(); }},
      {"sentiment", [](const TaskOptions&) { return make_sentiment_task(); }},
      {"charlm", [](const TaskOptions& o) { return make_charlm_task(o.text_path); }},
      {"forecast",
       [](const TaskOptions& o) { return make_forecast_task(o.csv_path, o.csv_column); }},
  };
  return tasks;
}

}  // namespace

std::unique_ptr<Task> make_task(const std::string& name, const TaskOptions& options) {
  for (const auto& [n, make] : registry())
    if (n == name) return make(options);
  std::string known;
  for (const auto& n : task_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown task '" + name + "'; known tasks: " + known);
}

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

}  // namespace unroll::tasks
