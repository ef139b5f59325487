// Parity builders for PyTorch's functional ops (torch.nn.functional.*): no parameters,
// config = the keyword arguments.
#include "parity/parity_runner.hpp"

namespace unroll::parity {
namespace {

ops::Reduction reduction_of(const nlohmann::json& cfg) {
  const std::string r = config_or<std::string>(cfg, "reduction", "mean");
  if (r == "mean") return ops::Reduction::Mean;
  if (r == "sum") return ops::Reduction::Sum;
  if (r == "none") return ops::Reduction::None;
  throw std::invalid_argument("reduction '" + r + "', expected mean, sum or none");
}

ParityCase build_softmax(const nlohmann::json& cfg) {
  const int dim = cfg.at("dim").get<int>();
  ParityCase c;
  c.config_keys = {"dim"};
  c.forward = [dim](const FloatInputs& in, const IndexInputs&) {
    return Outputs{{"output", ops::softmax(input(in, "input"), dim)}};
  };
  return c;
}

ParityCase build_log_softmax(const nlohmann::json& cfg) {
  const int dim = cfg.at("dim").get<int>();
  ParityCase c;
  c.config_keys = {"dim"};
  c.forward = [dim](const FloatInputs& in, const IndexInputs&) {
    return Outputs{{"output", ops::log_softmax(input(in, "input"), dim)}};
  };
  return c;
}

ParityCase build_cross_entropy(const nlohmann::json& cfg) {
  const ops::Reduction r = reduction_of(cfg);
  const auto ignore = config_or<std::int64_t>(cfg, "ignore_index", -100);
  ParityCase c;
  c.config_keys = {"reduction", "ignore_index"};
  c.forward = [r, ignore](const FloatInputs& in, const IndexInputs& idx) {
    return Outputs{
        {"loss", ops::cross_entropy(input(in, "input"), index_input(idx, "target"), r, ignore)}};
  };
  return c;
}

ParityCase build_mse_loss(const nlohmann::json& cfg) {
  const ops::Reduction r = reduction_of(cfg);
  ParityCase c;
  c.config_keys = {"reduction"};
  c.forward = [r](const FloatInputs& in, const IndexInputs&) {
    return Outputs{{"loss", ops::mse_loss(input(in, "input"), input(in, "target"), r)}};
  };
  return c;
}

const Registrar reg_softmax("softmax", Builder(build_softmax));
const Registrar reg_log_softmax("log_softmax", Builder(build_log_softmax));
const Registrar reg_cross_entropy("cross_entropy", Builder(build_cross_entropy));
const Registrar reg_mse_loss("mse_loss", Builder(build_mse_loss));

}  // namespace
}  // namespace unroll::parity
