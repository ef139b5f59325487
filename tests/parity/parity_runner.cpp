#include "parity/parity_runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "nn/safetensors.hpp"

namespace unroll::parity {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Function-local statics: builders register from static objects in other translation
// units, whose initialisation order relative to this file is unspecified.
std::map<std::string, Builder>& module_registry() {
  static std::map<std::string, Builder> r;
  return r;
}
std::map<std::string, OptimizerBuilder>& optimizer_registry() {
  static std::map<std::string, OptimizerBuilder> r;
  return r;
}

/// Any reason a case cannot pass; caught once in run_parity_file.
struct CaseFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void fail(const std::string& why) {
  throw CaseFailure(why);
}

template <class Map>
std::string keys_of(const Map& m) {
  std::string s;
  for (const auto& kv : m) s += (s.empty() ? "" : ", ") + kv.first;
  return s.empty() ? "none" : s;
}
std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& k : s) out += (out.empty() ? "" : ", ") + k;
  return out.empty() ? "none" : out;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, ','))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string index_str(std::size_t flat, const Shape& shape) {
  std::vector<std::size_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  std::string s = "[";
  for (std::size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

std::string num(double v) {
  std::ostringstream o;
  o << std::setprecision(9) << v;
  return o.str();
}

/// Compares got against expected within kAtol + kRtol * |expected|; fails naming the
/// worst element. Folds the largest |diff| into max_err.
void compare(const std::string& label, const Tensor& got, const Tensor& expected, double& max_err) {
  const Shape gs = shape_of(got), es = shape_of(expected);
  if (gs != es) fail(label + " has shape " + shape_str(gs) + ", expected " + shape_str(es));
  std::size_t bad = 0, worst = 0;
  double worst_excess = -1;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got.data()[i], e = expected.data()[i];
    const double diff = std::abs(g - e);
    const double tol = kAtol + kRtol * std::abs(e);
    const bool ok = diff <= tol;  // false for NaN
    max_err = std::max(max_err, std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff);
    if (!ok) {
      const double excess = std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff - tol;
      if (bad++ == 0 || excess > worst_excess) {
        worst = i;
        worst_excess = excess;
      }
    }
  }
  if (bad) {
    const double g = got.data()[worst], e = expected.data()[worst];
    fail(label + ": " + std::to_string(bad) + " of " + std::to_string(got.size()) +
         " elements outside tolerance; worst at " + index_str(worst, es) + ": got " + num(g) +
         ", expected " + num(e) + " (|diff| " + num(std::abs(g - e)) + " > " +
         num(kAtol + kRtol * std::abs(e)) + ")");
  }
}

/// loss = sum_k sum(x_k * s_k): one scalar root whose backward hands s_k to output k, so
/// several outputs are seeded in one reverse walk of one tape. Exact: d loss/d x_k = s_k.
Var seeded_sum(const std::vector<Var>& xs, const std::vector<Tensor>& seeds) {
  double total = 0;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const Tensor& x = xs[k].value();
    for (std::size_t i = 0; i < x.size(); ++i)
      total += static_cast<double>(x.data()[i]) * seeds[k].data()[i];
  }
  Tensor value = Tensor::from_shape({});
  value() = static_cast<float>(total);
  return autograd::record("parity_seeded_sum", std::move(value), xs,
                          [seeds](const autograd::Node& n, autograd::GradSink& g) {
                            const float up = n.grad.data()[0];
                            for (std::size_t k = 0; k < seeds.size(); ++k)
                              if (g.needs(k)) g.add(k, Tensor(seeds[k] * up));
                          });
}

json parse_config(const nn::SafetensorsFile& f) {
  if (!f.metadata.count("config")) return json::object();
  json cfg;
  try {
    cfg = json::parse(f.metadata.at("config"));
  } catch (const json::exception& e) {
    fail(std::string("metadata 'config' is not valid JSON: ") + e.what());
  }
  if (!cfg.is_object())
    fail("metadata 'config' is a JSON " + std::string(cfg.type_name()) + ", expected an object");
  return cfg;
}

void check_config_keys(const json& cfg, const std::set<std::string>& understood,
                       const std::string& module) {
  for (const auto& [key, value] : cfg.items())
    if (!understood.count(key))
      fail("config key '" + key + "' (= " + value.dump() + ") is not understood by the '" + module +
           "' builder (it understands: " + join(understood) + ")");
}

const std::string& meta(const nn::SafetensorsFile& f, const std::string& key) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end()) fail("metadata has no '" + key + "' entry");
  return it->second;
}

std::size_t meta_count(const nn::SafetensorsFile& f, const std::string& key) {
  const std::string& s = meta(f, key);
  std::size_t pos = 0;
  unsigned long v = 0;
  try {
    v = std::stoul(s, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != s.size()) fail("metadata '" + key + "' = '" + s + "' is not a count");
  return v;
}

const Tensor& float_tensor(const nn::SafetensorsFile& f, const std::string& name) {
  const nn::StoredTensor& t = f.at(name);
  if (!t.is_float()) fail(name + " has dtype " + t.dtype + ", expected a float dtype");
  return std::get<Tensor>(t.data);
}

// ---------------------------------------------------------------- module cases

double run_module(const nn::SafetensorsFile& f, const json& cfg) {
  const std::string& module = meta(f, "module");
  const auto& reg = module_registry();
  auto it = reg.find(module);
  if (it == reg.end())
    fail("no parity builder registered for module '" + module + "' (registered: " + keys_of(reg) +
         ")");
  ParityCase c;
  try {
    c = it->second(cfg);
  } catch (const std::exception& e) {
    fail("builder for '" + module + "' threw on config " + cfg.dump() + ": " + e.what());
  }
  check_config_keys(cfg, c.config_keys, module);
  if (!c.forward) fail("builder for '" + module + "' returned a case without forward");

  // Sort every tensor by role; any other name is a fixture the runner would ignore.
  std::map<std::string, const nn::StoredTensor*> ins, params, outs, seeds, grads;
  for (const auto& [name, t] : f.tensors) {
    const auto dot = name.find('.');
    const std::string prefix = dot == std::string::npos ? "" : name.substr(0, dot);
    const std::string rest = dot == std::string::npos ? name : name.substr(dot + 1);
    auto* role = prefix == "in"      ? &ins
                 : prefix == "param" ? &params
                 : prefix == "out"   ? &outs
                 : prefix == "seed"  ? &seeds
                 : prefix == "grad"  ? &grads
                                     : nullptr;
    if (!role || rest.empty())
      fail("tensor '" + name + "' has no known role prefix (in., param., out., seed., grad.)");
    (*role)[rest] = &t;
  }

  const auto input_names = split_list(meta(f, "inputs"));
  const auto output_names = split_list(meta(f, "outputs"));
  for (const auto& n : input_names)
    if (!ins.count(n)) fail("metadata 'inputs' lists '" + n + "' but there is no tensor in." + n);
  for (const auto& [n, t] : ins)
    if (std::find(input_names.begin(), input_names.end(), n) == input_names.end())
      fail("tensor in." + n + " is not listed in metadata 'inputs'");
  for (const auto& n : output_names)
    if (!outs.count(n))
      fail("metadata 'outputs' lists '" + n + "' but there is no tensor out." + n);
  for (const auto& [n, t] : outs)
    if (std::find(output_names.begin(), output_names.end(), n) == output_names.end())
      fail("tensor out." + n + " is not listed in metadata 'outputs'");

  // Parameters: the fixture and the module must own exactly the same names and shapes.
  for (const auto& [n, t] : params) {
    auto p = c.params.find(n);
    if (p == c.params.end())
      fail("fixture has param." + n + " but the '" + module + "' case has no parameter '" + n +
           "' (it has: " + keys_of(c.params) + ")");
    if (!t->is_float()) fail("param." + n + " has dtype " + t->dtype + ", expected a float dtype");
    const Tensor& v = std::get<Tensor>(t->data);
    if (p->second.shape() != shape_of(v))
      fail("parameter '" + n + "' has shape " + shape_str(p->second.shape()) + " but param." + n +
           " has shape " + shape_str(v));
    p->second.mutable_value() = v;
    p->second.zero_grad();
  }
  for (const auto& [n, v] : c.params)
    if (!params.count(n))
      fail("parameter '" + n + "' of the '" + module + "' case has no param." + n +
           " in the fixture (it would run with its random initial value)");

  FloatInputs float_in;
  IndexInputs index_in;
  for (const auto& [n, t] : ins) {
    if (t->is_float())
      float_in.emplace(n, Var(std::get<Tensor>(t->data), true));
    else
      index_in.emplace(n, std::get<IndexTensor>(t->data));
  }

  autograd::Tape tape;
  autograd::TapeScope scope(tape);
  Outputs result;
  try {
    result = c.forward(float_in, index_in);
  } catch (const std::exception& e) {
    fail(std::string("forward threw: ") + e.what());
  }

  double max_err = 0;
  std::vector<Var> roots;
  std::vector<Tensor> root_seeds;
  for (const auto& n : output_names) {
    auto r = result.find(n);
    if (r == result.end() || !r->second.defined())
      fail("forward returned no output '" + n + "' (returned: " + keys_of(result) + ")");
    const nn::StoredTensor* expected = outs.at(n);
    if (!expected->is_float())
      fail("out." + n + " has dtype " + expected->dtype + ", expected float");
    compare("out." + n, r->second.value(), std::get<Tensor>(expected->data), max_err);
    if (!seeds.count(n)) {
      if (!grads.empty()) fail("out." + n + " has no seed." + n + " for the backward pass");
      continue;
    }
    const Tensor& s = float_tensor(f, "seed." + n);
    if (shape_of(s) != r->second.shape())
      fail("seed." + n + " has shape " + shape_str(s) + ", expected the output's " +
           shape_str(r->second.shape()));
    if (r->second.requires_grad()) {
      roots.push_back(r->second);
      root_seeds.push_back(s);
    }
  }
  for (const auto& [n, t] : seeds)
    if (!outs.count(n)) fail("seed." + n + " has no matching out." + n);

  if (grads.empty()) return max_err;
  if (roots.empty()) fail("no output depends on an input or parameter requiring grad");
  try {
    autograd::backward(seeded_sum(roots, root_seeds));
  } catch (const std::exception& e) {
    fail(std::string("backward threw: ") + e.what());
  }

  for (const auto& [n, t] : grads) {
    const bool is_in = float_in.count(n) != 0, is_param = c.params.count(n) != 0;
    if (is_in && is_param) fail("grad." + n + " is ambiguous: both in." + n + " and param." + n);
    if (!is_in && !is_param)
      fail("grad." + n + " matches no float input and no parameter of the '" + module + "' case");
    if (!t->is_float()) fail("grad." + n + " has dtype " + t->dtype + ", expected float");
    const Var& v = is_in ? float_in.at(n) : c.params.at(n);
    compare("grad." + n, v.grad(), std::get<Tensor>(t->data), max_err);
  }
  for (const auto& [n, v] : c.params)
    if (!grads.count(n)) fail("parameter '" + n + "' has no expected gradient grad." + n);
  return max_err;
}

// ---------------------------------------------------------------- optimizer cases

double run_optimizer(const nn::SafetensorsFile& f, const json& cfg) {
  const std::string& name = meta(f, "module");
  const auto& reg = optimizer_registry();
  auto it = reg.find(name);
  if (it == reg.end())
    fail("no parity optimizer registered for '" + name + "' (registered: " + keys_of(reg) + ")");
  const std::size_t steps = meta_count(f, "steps"), nparams = meta_count(f, "params");
  if (steps == 0 || nparams == 0) fail("metadata 'steps' and 'params' must be positive");

  std::set<std::string> used;
  auto take = [&](const std::string& tname) -> const Tensor& {
    if (!f.contains(tname)) fail("missing tensor " + tname);
    used.insert(tname);
    return float_tensor(f, tname);
  };
  std::vector<Var> params;
  for (std::size_t i = 0; i < nparams; ++i)
    params.push_back(Var::parameter(take("param.p" + std::to_string(i))));

  OptimizerCase c;
  try {
    c = it->second(cfg, params);
  } catch (const std::exception& e) {
    fail("builder for '" + name + "' threw on config " + cfg.dump() + ": " + e.what());
  }
  check_config_keys(cfg, c.config_keys, name);
  if (!c.step) fail("builder for '" + name + "' returned a case without step");

  double max_err = 0;
  for (std::size_t k = 1; k <= steps; ++k) {
    const std::string step = "step" + std::to_string(k) + ".p";
    for (std::size_t i = 0; i < nparams; ++i) {
      const Tensor& g = take("grad." + step + std::to_string(i));
      if (shape_of(g) != params[i].shape())
        fail("grad." + step + std::to_string(i) + " has shape " + shape_str(g) + ", expected " +
             shape_str(params[i].shape()));
      // Set grad() = g exactly through the public API: d/dp sum(p * g) = g.
      params[i].zero_grad();
      autograd::Tape tape;
      autograd::TapeScope scope(tape);
      autograd::backward(seeded_sum({params[i]}, {g}));
    }
    try {
      c.step();
    } catch (const std::exception& e) {
      fail("step " + std::to_string(k) + " threw: " + e.what());
    }
    for (std::size_t i = 0; i < nparams; ++i) {
      const std::string out = "out." + step + std::to_string(i);
      compare(out, params[i].value(), take(out), max_err);
    }
  }
  for (const auto& [tname, t] : f.tensors)
    if (!used.count(tname))
      fail("tensor '" + tname + "' is not used by a " + std::to_string(steps) + "-step, " +
           std::to_string(nparams) + "-parameter optimizer case");
  return max_err;
}

}  // namespace

// ---------------------------------------------------------------- registry

void register_parity_builder(const std::string& name, Builder builder) {
  if (!module_registry().emplace(name, std::move(builder)).second)
    throw std::logic_error("register_parity_builder: '" + name + "' is already registered");
}
void register_parity_optimizer(const std::string& name, OptimizerBuilder builder) {
  if (!optimizer_registry().emplace(name, std::move(builder)).second)
    throw std::logic_error("register_parity_optimizer: '" + name + "' is already registered");
}
const std::map<std::string, Builder>& parity_builders() {
  return module_registry();
}
const std::map<std::string, OptimizerBuilder>& parity_optimizers() {
  return optimizer_registry();
}

// ---------------------------------------------------------------- running

CaseResult run_parity_file(const std::string& path) {
  CaseResult r;
  r.file = fs::path(path).filename().string();
  try {
    const nn::SafetensorsFile f = nn::load_safetensors(path);
    auto fmt = f.metadata.find("format");
    if (fmt != f.metadata.end() && fmt->second != "unroll-parity-1")
      fail("metadata format '" + fmt->second + "', expected 'unroll-parity-1'");
    const std::string& kind = meta(f, "kind");
    const json cfg = parse_config(f);
    if (kind == "module")
      r.max_abs_err = run_module(f, cfg);
    else if (kind == "optimizer")
      r.max_abs_err = run_optimizer(f, cfg);
    else
      fail("kind '" + kind + "' cannot be run (expected 'module' or 'optimizer')");
    r.ok = true;
  } catch (const CaseFailure& e) {
    r.reason = e.what();
  } catch (const std::exception& e) {
    r.reason = e.what();
  }
  return r;
}

RunSummary run_parity_dir(const std::string& dir, std::ostream* log) {
  RunSummary s;
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".safetensors") files.push_back(it->path().string());
  if (ec) {
    CaseResult r;
    r.file = dir;
    r.reason = "cannot list directory: " + ec.message();
    s.cases.push_back(r);
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) s.cases.push_back(run_parity_file(f));
  for (const auto& c : s.cases) {
    (c.ok ? s.passed : s.failed)++;
    if (!log) continue;
    if (c.ok)
      *log << "parity " << c.file << ": ok, max abs err " << std::setprecision(3) << c.max_abs_err
           << "\n";
    else
      *log << "parity " << c.file << ": FAILED: " << c.reason << "\n";
  }
  if (log) *log << "parity: " << s.passed << " passed, " << s.failed << " failed" << std::endl;
  return s;
}

std::string default_parity_dir() {
  if (const char* env = std::getenv("UNROLL_PARITY_DIR"); env && *env) return env;
  return UNROLL_TEST_DATA_DIR "/parity";
}

// ---------------------------------------------------------------- builder helpers

const Var& input(const FloatInputs& in, const std::string& name) {
  auto it = in.find(name);
  if (it == in.end())
    throw std::invalid_argument("parity: the case needs float input '" + name +
                                "' (fixture has: " + keys_of(in) + ")");
  return it->second;
}

const IndexTensor& index_input(const IndexInputs& in, const std::string& name) {
  auto it = in.find(name);
  if (it == in.end())
    throw std::invalid_argument("parity: the case needs integer input '" + name +
                                "' (fixture has: " + keys_of(in) + ")");
  return it->second;
}

std::map<std::string, Var> param_map(const std::vector<std::pair<std::string, Var>>& named) {
  std::map<std::string, Var> m;
  for (const auto& [n, v] : named)
    if (!m.emplace(n, v).second)
      throw std::logic_error("param_map: duplicate parameter '" + n + "'");
  return m;
}

}  // namespace unroll::parity
