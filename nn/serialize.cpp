#include "nn/serialize.hpp"

#include <set>

namespace unroll::nn {

std::string LoadReport::describe() const {
  std::string out;
  for (const auto& n : missing) out += "  missing from the file: " + n + "\n";
  for (const auto& n : unexpected) out += "  unexpected in the file: " + n + "\n";
  for (const auto& n : mismatched) out += "  wrong shape or dtype: " + n + "\n";
  return out;
}

void save(const Module& m, const std::string& path,
          const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [name, p] : m.named_parameters()) tensors.emplace_back(name, p.value());
  save_safetensors(path, tensors, metadata);
}

LoadReport load(Module& m, const SafetensorsFile& file, bool strict) {
  LoadReport r;
  const NamedParameters params = m.named_parameters();
  std::set<std::string> known;
  struct Pending {
    std::string name;
    Var param;
    const Tensor* value;
  };
  std::vector<Pending> apply;
  for (const auto& [name, p] : params) {
    known.insert(name);
    auto it = file.tensors.find(name);
    if (it == file.tensors.end()) {
      r.missing.push_back(name);
      continue;
    }
    const StoredTensor& st = it->second;
    if (!st.is_float()) {
      r.mismatched.push_back(name + ": dtype " + st.dtype + " where a float tensor is needed");
      continue;
    }
    if (st.shape != p.shape()) {
      r.mismatched.push_back(name + ": file " + shape_str(st.shape) + " vs module " +
                             shape_str(p.value()));
      continue;
    }
    apply.push_back({name, p, &std::get<Tensor>(st.data)});
  }
  for (const auto& [name, st] : file.tensors)
    if (!known.count(name)) r.unexpected.push_back(name);
  if (strict && !r.clean())
    throw StateDictError(
        "load " + file.source + ": the file does not match the module\n" + r.describe(), r);
  for (Pending& p : apply) {
    p.param.mutable_value() = *p.value;
    r.loaded.push_back(p.name);
  }
  return r;
}

LoadReport load(Module& m, const std::string& path, bool strict) {
  return load(m, load_safetensors(path), strict);
}

}  // namespace unroll::nn
