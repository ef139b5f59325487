#pragma once
// The built-in tasks' constructors (each defined in its own tasks/<name>.cpp), for the
// registry and for callers that need a setting TaskOptions does not carry.

#include <memory>
#include <stdexcept>
#include <string>

#include "tasks/task.hpp"

namespace unroll::tasks {

/// Copy-memory: 10 symbols, T steps of delay, recall (Bai, Kolter & Koltun 2018).
std::unique_ptr<Task> make_copy_task();
/// Adding problem: sum of the two marked values of a [T, 2] sequence.
std::unique_ptr<Task> make_adding_task();
/// Parity: XOR of T bits, predicted at the last step.
std::unique_ptr<Task> make_parity_task();
/// Selective copy: 4 data tokens at random places among T noise steps, recalled in order.
std::unique_ptr<Task> make_selective_copy_task();
/// Associative recall: T key-value pairs, then a query key; predict its value.
std::unique_ptr<Task> make_assoc_recall_task();
/// Rule-labelled sentiment of generated English sentences (see tasks/sentiment.hpp).
std::unique_ptr<Task> make_sentiment_task();
/// Character language model on `text_path`, or on a generated corpus when it is empty.
std::unique_ptr<Task> make_charlm_task(const std::string& text_path);
/// Next-value forecasting on a CSV column, or on a generated hourly load curve when
/// `csv_path` is empty. `season` is the seasonal-naive lag (0: 24, hourly data with a
/// daily cycle).
std::unique_ptr<Task> make_forecast_task(const std::string& csv_path, const std::string& column,
                                         std::size_t season = 0);

/// Throws std::invalid_argument "<task>: length <length> is too small; the minimum is <minimum>".
inline void require_min_length(const std::string& task, std::size_t length, std::size_t minimum) {
  if (length < minimum)
    throw std::invalid_argument(task + ": length " + std::to_string(length) +
                                " is too small; the minimum is " + std::to_string(minimum));
}

}  // namespace unroll::tasks
