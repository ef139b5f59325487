// One-step-ahead forecasting of a univariate series, on a CSV column or a generated hourly
// load curve. Inputs per step: the z-scored value and the seasonal phase as (sin, cos), so
// that a model without absolute positions (a Transformer on a random window) can tell the
// hour of day; targets: the next z-scored value at every step. The first
// min(season, T/2) steps are not scored: there a model has seen less than a season, and
// the scored steps are then the ones the seasonal-naive baseline (predict the value one
// season earlier) can also be computed on. Normalisation uses the whole series (no
// held-out split), and the phase of a CSV series counts from its first row.

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <sstream>

#include "tasks/builtin.hpp"

namespace unroll::tasks {
namespace {

constexpr std::size_t kDefaultSeason = 24;

// A year of hourly electricity-like load: morning and evening peaks, lower weekends, a slow
// annual swing and AR(1) noise. The seed is fixed so the default series never changes.
std::vector<double> generated_load() {
  Generator g(7u);
  constexpr std::size_t kHours = 24 * 365;
  std::vector<double> x(kHours);
  double noise = 0;
  for (std::size_t h = 0; h < kHours; ++h) {
    const double hour = static_cast<double>(h % 24);
    const bool weekend = (h / 24) % 7 >= 5;
    const double daily = 0.6 * std::exp(-(hour - 8) * (hour - 8) / 8.0) +
                         1.0 * std::exp(-(hour - 19) * (hour - 19) / 12.5);
    const double annual = 0.15 * std::cos(2 * std::numbers::pi * static_cast<double>(h) / kHours);
    noise = 0.8 * noise + 0.04 * g.normal();
    x[h] = 1.0 + (weekend ? 0.7 : 1.0) * daily + annual + noise;
  }
  return x;
}

// One CSV record: commas separate fields, double quotes protect commas ("" is a quote).
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"')
      fields.back() += c, ++i;
    else if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      fields.emplace_back();
    else
      fields.back() += c;
  }
  for (auto& f : fields) {
    const auto a = f.find_first_not_of(" \t"), z = f.find_last_not_of(" \t");
    f = a == std::string::npos ? "" : f.substr(a, z - a + 1);
  }
  return fields;
}

std::vector<double> read_csv_column(const std::string& path, std::string column) {
  // A directory opens as an empty stream on Linux: say what it is instead of "empty".
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw std::invalid_argument("forecast: CSV path '" + path + "' is not a regular file");
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::invalid_argument("forecast: cannot open CSV file '" + path + "'");
  // Read whole, so that a binary file is recognised before its bytes are shown as column names.
  const std::string bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  if (const auto nul = bytes.find('\0'); nul != std::string::npos)
    throw std::invalid_argument("forecast: CSV file '" + path + "' contains a NUL byte at offset " +
                                std::to_string(nul) + " (is it a binary file?)");
  std::istringstream in(bytes);
  std::string line;
  std::size_t line_no = 0;
  auto next_line = [&] {
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") != std::string::npos) return true;
    }
    return false;
  };
  if (!next_line()) throw std::invalid_argument("forecast: CSV file '" + path + "' is empty");
  const auto header = split_csv(line);
  std::string names;
  for (const auto& h : header) names += (names.empty() ? "'" : ", '") + h + "'";
  if (column.empty()) {
    if (header.size() != 1)
      throw std::invalid_argument("forecast: CSV file '" + path +
                                  "' has several columns; choose one with --column (" + names +
                                  ")");
    column = header[0];
  }
  std::size_t col = header.size();
  for (std::size_t j = 0; j < header.size() && col == header.size(); ++j)
    if (header[j] == column) col = j;
  if (col == header.size())
    throw std::invalid_argument("forecast: column '" + column + "' not found in CSV file '" + path +
                                "'; its columns are " + names);
  std::vector<double> values;
  while (next_line()) {
    const auto fields = split_csv(line);
    const std::string where = "forecast: CSV file '" + path + "' line " + std::to_string(line_no) +
                              ", column '" + column + "': ";
    if (col >= fields.size())
      throw std::invalid_argument(where + "the row has only " + std::to_string(fields.size()) +
                                  " fields");
    if (fields.size() != header.size())  // a stray or missing comma shifts later columns
      throw std::invalid_argument(where + "the row has " + std::to_string(fields.size()) +
                                  " fields but the header has " + std::to_string(header.size()));
    const std::string& f = fields[col];
    if (f.empty()) throw std::invalid_argument(where + "empty value (missing data)");
    char* end = nullptr;
    const double v = std::strtod(f.c_str(), &end);
    if (end != f.c_str() + f.size())
      throw std::invalid_argument(where + "'" + f + "' is not a number");
    if (!std::isfinite(v))
      throw std::invalid_argument(where + "'" + f + "' is not a finite number");
    values.push_back(v);
  }
  return values;
}

class ForecastTask final : public Task {
 public:
  ForecastTask(const std::string& csv_path, const std::string& column, std::size_t season)
      : season_(season ? season : kDefaultSeason) {
    if (csv_path.empty() && !column.empty())
      throw std::invalid_argument("forecast: a column ('" + column + "') needs a CSV file (--csv)");
    source_ = csv_path.empty() ? "generated hourly load curve" : "CSV file '" + csv_path + "'";
    const auto raw = csv_path.empty() ? generated_load() : read_csv_column(csv_path, column);
    if (raw.size() < season_ + 2)
      throw std::invalid_argument("forecast: " + source_ + " has " + std::to_string(raw.size()) +
                                  " values; at least " + std::to_string(season_ + 2) +
                                  " are needed (season " + std::to_string(season_) + " + 2)");
    double mean = 0, var = 0;
    for (double v : raw) mean += v;
    mean /= static_cast<double>(raw.size());
    for (double v : raw) var += (v - mean) * (v - mean);
    const double sd = std::sqrt(var / static_cast<double>(raw.size()));
    if (!(sd > 1e-12 * std::max(1.0, std::abs(mean))))
      throw std::invalid_argument("forecast: " + source_ + " is constant; nothing to forecast");
    z_.reserve(raw.size());
    for (double v : raw) z_.push_back((v - mean) / sd);
    for (std::size_t i = season_; i < z_.size(); ++i)
      naive_mse_ += (z_[i] - z_[i - season_]) * (z_[i] - z_[i - season_]);
    naive_mse_ /= static_cast<double>(z_.size() - season_);
  }

  std::string name() const override { return "forecast"; }
  std::string description() const override {
    return "forecast: next value of the " + source_ + " (z-scored, season " +
           std::to_string(season_) + "), MSE beside the seasonal-naive baseline";
  }
  TaskSpec spec() const override { return {InputKind::Features, 3, TargetKind::Values, 1}; }
  std::string metric() const override { return "mse"; }
  bool higher_is_better() const override { return false; }
  std::size_t default_length() const override { return 4 * season_; }
  /// MSE of predicting z[i] by z[i - season] over the whole normalised series.
  double baseline(std::size_t) const override { return naive_mse_; }

  Batch sample(Generator& gen, std::size_t batch, std::size_t length) const override {
    require_min_length("forecast", length, 1);
    if (length + 1 > z_.size())
      throw std::invalid_argument("forecast: length " + std::to_string(length) + " needs " +
                                  std::to_string(length + 1) + " values but the " + source_ +
                                  " has " + std::to_string(z_.size()));
    const std::size_t warmup = std::min(season_, length / 2);
    Batch b;
    b.features = xt::zeros<float>({batch, length, std::size_t{3}});
    b.value_targets = xt::zeros<float>({batch, length, std::size_t{1}});
    b.value_mask = xt::zeros<float>({batch, length});
    const double w = 2 * std::numbers::pi / static_cast<double>(season_);
    for (std::size_t i = 0; i < batch; ++i) {
      const std::size_t start = gen.below(z_.size() - length);
      for (std::size_t t = 0; t < length; ++t) {
        const double phase = w * static_cast<double>((start + t) % season_);
        b.features(i, t, 0) = static_cast<float>(z_[start + t]);
        b.features(i, t, 1) = static_cast<float>(std::sin(phase));
        b.features(i, t, 2) = static_cast<float>(std::cos(phase));
        b.value_targets(i, t, 0) = static_cast<float>(z_[start + t + 1]);
        b.value_mask(i, t) = t >= warmup ? 1.0f : 0.0f;
      }
    }
    return b;
  }

  /// Adds naive_mse / naive_mae, the seasonal-naive predictor on the same scored steps, when
  /// every scored step has a value one season back inside the window.
  std::map<std::string, double> metrics(const Tensor& out, const Batch& b) const override {
    auto m = Task::metrics(out, b);
    const std::size_t B = b.value_mask.shape()[0], T = b.value_mask.shape()[1];
    double se = 0, ae = 0, n = 0;
    for (std::size_t i = 0; i < B; ++i)
      for (std::size_t t = 0; t < T; ++t) {
        if (b.value_mask(i, t) == 0.0f) continue;
        if (t + 1 < season_) return m;
        const double e = b.features(i, t + 1 - season_, 0) - b.value_targets(i, t, 0);
        se += e * e, ae += std::abs(e), n += 1;
      }
    if (n > 0) m["naive_mse"] = se / n, m["naive_mae"] = ae / n;
    return m;
  }

 private:
  std::size_t season_;
  std::string source_;
  std::vector<double> z_;
  double naive_mse_ = 0;
};

}  // namespace

std::unique_ptr<Task> make_forecast_task(const std::string& csv_path, const std::string& column,
                                         std::size_t season) {
  return std::make_unique<ForecastTask>(csv_path, column, season);
}

}  // namespace unroll::tasks
