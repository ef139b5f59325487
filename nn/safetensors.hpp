#pragma once
// safetensors (https://github.com/huggingface/safetensors): the file format PyTorch users
// exchange weights in, and the format of the parity fixtures. Layout: 8-byte little-endian
// header length N, N bytes of JSON, then raw little-endian tensor bytes.
// Loading validates the whole file before touching tensor bytes, so a corrupt or hostile
// file gives a FormatError, never an out-of-bounds read.

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "autograd/tensor.hpp"

namespace unroll::nn {

/// A malformed safetensors file or buffer; the message names the file, what was wrong and
/// what was expected. Also thrown by the accessors for a missing name or the wrong kind.
class FormatError : public std::runtime_error {
 public:
  /// Error with the message `what`.
  explicit FormatError(const std::string& what) : std::runtime_error(what) {}
};

/// One stored tensor: its dtype as written in the file and its data converted to the
/// engine's types: float dtypes (F32, F16, BF16, F64) to Tensor, integer dtypes (I64, I32,
/// I16, I8, U64, U32, U16, U8, BOOL) to IndexTensor.
struct StoredTensor {
  std::string dtype;                       ///< "F32", "I64", "U8", ...
  Shape shape;                             ///< as in the header; [] is a scalar
  std::variant<Tensor, IndexTensor> data;  ///< Tensor for float dtypes, else IndexTensor

  /// Whether the data is a float Tensor (else an IndexTensor).
  bool is_float() const { return std::holds_alternative<Tensor>(data); }
};

/// A parsed safetensors file: `__metadata__` (string -> string) and the tensors by name.
struct SafetensorsFile {
  std::string source;                           ///< file name or label, for messages
  std::map<std::string, std::string> metadata;  ///< `__metadata__`, empty if absent
  std::map<std::string, StoredTensor> tensors;  ///< every tensor, by name

  /// Whether a tensor called `name` exists.
  bool contains(const std::string& name) const { return tensors.count(name) != 0; }
  /// The stored tensor `name`; FormatError naming the file and its tensors if missing.
  const StoredTensor& at(const std::string& name) const;
  /// The float tensor `name`; FormatError if missing or stored with an integer dtype.
  const Tensor& tensor(const std::string& name) const;
  /// The integer tensor `name` as int64; FormatError if missing or stored as a float dtype.
  const IndexTensor& index_tensor(const std::string& name) const;
  /// Metadata value for `key`; FormatError if absent.
  const std::string& meta(const std::string& key) const;
};

/// Parse a whole safetensors image of `size` bytes at `data`. `what` names the source in
/// error messages. Throws FormatError on any malformation; never reads outside the buffer.
SafetensorsFile parse_safetensors(const std::uint8_t* data, std::size_t size,
                                  const std::string& what);

/// Read and parse the file at `path`. Throws std::runtime_error if it cannot be read and
/// FormatError (a std::runtime_error) if it is malformed.
SafetensorsFile load_safetensors(const std::string& path);

/// Write `tensors` as F32 in the given order, with `metadata` as `__metadata__`; the header
/// is padded with spaces so the data starts 8-byte aligned. Atomic: the bytes go to
/// `path + ".tmp.<pid>"` in the same directory, are flushed and fsync'ed, then renamed
/// over `path`, so an interrupted save leaves the previous file intact. Throws
/// std::invalid_argument for an empty, duplicate or reserved ("__metadata__") tensor name
/// (before anything is written) and std::runtime_error for I/O failures; the temporary
/// file is removed on every error. A temp file left by a save whose process was killed
/// before the rename is never read, and the next successful save of `path` removes it.
/// Test hook: with the environment variable UNROLL_FAULT_KILL_DURING_SAVE=1 the process
/// writes half of the temp file, fsyncs it and sends itself SIGKILL (a crash mid-save;
/// tests/reliability/test_kill_save.cpp).
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace unroll::nn
